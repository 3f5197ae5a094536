// systemd integration: sd_notify READY/WATCHDOG/STATUS/STOPPING for `crackscope serve`.
export { attachSystemd, notifyStopping, describeStatus, watchdogIntervalMs, type SystemdHandle } from './notify.js';
