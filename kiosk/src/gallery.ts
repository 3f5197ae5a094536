// The gallery drawer: saved captures as thumbnails; open one in the viewer, download its files,
// delete it (sends the admin token if one was typed). Every failure is shown. Below the surveys,
// the survey campaigns with their progress (issue 19), when the service has a campaign Redis
// (GET /api/campaigns), polled every few seconds while the drawer is open; without one, or while
// Redis does not answer, nothing more is shown (a visitor has nothing to do about it; the service
// log says it).
import { api, ApiError, adminToken, captureUrl, curator, type CampaignList, type CampaignSummary, type CaptureSummary, type SurveySummary } from './api.js';
import { $, show, toast } from './dom.js';
import { Drawer } from './drawer.js';
import { dateTime, num, t, unit } from './i18n.js';
import { surveyUrl } from './survey-view.js';

const CAMPAIGN_POLL_MS = 5000;

export class Gallery extends Drawer {
  private items: CaptureSummary[] = [];
  private surveys: SurveySummary[] = [];
  private selected: string | null = null;
  private campaigns: CampaignSummary[] = [];
  private campaignTimer: ReturnType<typeof setInterval> | null = null;

  constructor(
    private readonly open: (id: string) => void,
    private readonly openSurvey: (s: SurveySummary) => void,
  ) {
    super($('gallery'));
    $('gallery-close').addEventListener('click', () => this.hide());
    const tok = $<HTMLInputElement>('admin-token');
    tok.value = adminToken.get();
    tok.addEventListener('change', () => adminToken.set(tok.value.trim()));
    $('detail-open').addEventListener('click', () => this.selected && this.open(this.selected));
    $('detail-delete').addEventListener('click', () => void this.remove());
    $('curator-start').addEventListener('click', () => {
      show($('curator-form'), true);
      show($('curator-start'), false);
      $<HTMLInputElement>('curator-pin').focus();
    });
    $('curator-cancel').addEventListener('click', () => this.closeCuratorForm());
    $('curator-leave').addEventListener('click', () => this.leaveCurator());
    $('curator-form').addEventListener('submit', (e) => {
      e.preventDefault();
      void this.enterCurator($<HTMLInputElement>('curator-pin').value.trim());
    });
  }

  private closeCuratorForm(): void {
    $<HTMLInputElement>('curator-pin').value = '';
    show($('curator-form'), false);
    show($('curator-start'), !curator.active);
  }

  private async enterCurator(secret: string): Promise<void> {
    if (!secret) return;
    try {
      await api('POST', 'curator', {}, false, curator.headers(secret));
      curator.secret = secret;
      toast(t('curator_entered'));
    } catch (err) {
      const e = err as ApiError;
      toast(e.code === 'no-curator-secret' ? t('curator_unavailable') : `${t('curator_failed')}: ${e.message}`, true);
    }
    this.closeCuratorForm();
    this.renderCurator();
  }

  /** Back to visitor mode (the button, and the idle reset). */
  leaveCurator(): void {
    curator.secret = '';
    this.closeCuratorForm();
    this.renderCurator();
  }

  private renderCurator(): void {
    show($('st-curator'), curator.active);
    show($('curator-leave'), curator.active);
    show($('curator-start'), !curator.active && $('curator-form').classList.contains('hidden'));
  }

  async show(): Promise<void> {
    await super.show();
    this.campaignTimer ??= setInterval(() => void this.refreshCampaigns(), CAMPAIGN_POLL_MS);
  }

  hide(): void {
    super.hide();
    if (this.campaignTimer !== null) clearInterval(this.campaignTimer);
    this.campaignTimer = null;
  }

  async refreshCampaigns(): Promise<void> {
    try {
      this.campaigns = (await api<CampaignList>('GET', 'campaigns')).campaigns;
    } catch {
      this.campaigns = [];
    }
    this.renderCampaigns();
  }

  async refresh(): Promise<void> {
    void this.refreshCampaigns();
    try {
      [this.items, this.surveys] = await Promise.all([
        api<{ captures: CaptureSummary[] }>('GET', 'captures').then((r) => r.captures),
        api<{ surveys: SurveySummary[] }>('GET', 'surveys').then((r) => r.surveys),
      ]);
    } catch (err) {
      toast(`${t('gallery')}: ${(err as Error).message}`, true);
      return;
    }
    this.render();
  }

  private label(c: CaptureSummary): string {
    const d = new Date(c.createdAt);
    const time = Number.isNaN(d.getTime()) ? c.id : dateTime(d);
    const n = c.crackCount === undefined ? '' : ` · ${t('crack_count', { count: c.crackCount })}`;
    return time + n + (c.protected ? ` · 🔒 ${t('protected')}` : '');
  }

  render(): void {
    const list = $('gallery-list');
    list.replaceChildren();
    if (this.items.length === 0) {
      const p = document.createElement('p');
      p.textContent = t('gallery_empty');
      list.appendChild(p);
    }
    for (const c of this.items) {
      const b = document.createElement('button');
      b.className = 'thumb' + (c.id === this.selected ? ' sel' : '');
      b.dataset.id = c.id;
      const img = document.createElement('img');
      img.src = captureUrl(c.id, 'thumb.jpg');
      img.alt = c.id;
      const s = document.createElement('span');
      s.textContent = this.label(c);
      b.append(img, s);
      b.addEventListener('click', () => this.select(c.id));
      list.appendChild(b);
    }
    this.renderSurveys();
    const sel = this.items.find((c) => c.id === this.selected);
    show($('gallery-detail'), !!sel);
    if (sel) {
      $<HTMLImageElement>('detail-img').src = captureUrl(sel.id, 'thumb.jpg');
      $('detail-meta').textContent = `${this.label(sel)} · ${unit('kb', sel.bytes / 1024)} · ${sel.source ?? ''}`;
      $<HTMLAnchorElement>('dl-image').href = captureUrl(sel.id, 'image.jpg', true);
      $<HTMLAnchorElement>('dl-mask').href = captureUrl(sel.id, 'mask.png', true);
      $<HTMLAnchorElement>('dl-report').href = captureUrl(sel.id, 'report.json', true);
    }
  }

  private renderSurveys(): void {
    const list = $('survey-list');
    list.replaceChildren();
    if (this.surveys.length === 0) {
      const p = document.createElement('p');
      p.textContent = t('surveys_empty');
      list.appendChild(p);
    }
    for (const s of this.surveys) {
      const b = document.createElement('button');
      b.className = 'thumb survey';
      b.dataset.survey = s.name;
      const img = document.createElement('img');
      img.src = surveyUrl(s.name, 'overview.jpg');
      img.alt = s.name;
      const span = document.createElement('span');
      const len = s.lengthMm !== null ? unit('m', s.lengthMm / 1000, 2) : unit('px', s.lengthPx);
      span.textContent = `${s.name} · ${unit('mp', (s.width * s.height) / 1e6)} · ${t('crack_count', { count: s.cracks })} · ${len}`;
      b.append(img, span);
      b.addEventListener('click', () => {
        this.hide();
        this.openSurvey(s);
      });
      list.appendChild(b);
    }
  }

  private renderCampaigns(): void {
    const list = $('campaign-list');
    show($('campaigns-title'), this.campaigns.length > 0);
    show(list, this.campaigns.length > 0);
    list.replaceChildren();
    for (const c of this.campaigns) {
      const n = c.counts;
      const li = document.createElement('li');
      li.className = 'campaign';
      li.dataset.campaign = c.name;
      const head = document.createElement('div');
      head.className = 'campaign-head';
      const name = document.createElement('b');
      name.textContent = c.name;
      const model = document.createElement('span');
      model.className = 'campaign-model';
      model.textContent = c.model;
      head.append(name, model);
      const bar = document.createElement('progress');
      bar.max = Math.max(1, n.total);
      bar.value = n.done + n.failed;
      const label = t('campaign_label', {
        name: c.name,
        done: num(n.done),
        active: num(n.active),
        waiting: num(n.waiting + n.retrying),
        failed: num(n.failed),
      });
      bar.setAttribute('aria-label', label);
      bar.title = label;
      const counts = document.createElement('div');
      counts.className = 'campaign-counts';
      const progress = document.createElement('span');
      progress.textContent = t('campaign_progress', { done: num(n.done), total: num(n.total) });
      counts.append(progress);
      for (const [state, v] of [
        ['active', n.active],
        ['waiting', n.waiting + n.retrying],
        ['failed', n.failed],
      ] as const) {
        if (v === 0) continue;
        const chip = document.createElement('span');
        chip.className = `chip ${state}`;
        chip.dataset.state = state;
        chip.textContent = `${num(v)} ${t(`campaign_${state}`)}`;
        counts.append(chip);
      }
      li.append(head, bar, counts);
      list.appendChild(li);
    }
  }

  select(id: string): void {
    this.selected = id;
    this.render();
  }

  private async remove(): Promise<void> {
    const id = this.selected;
    if (!id) return;
    try {
      await api('DELETE', `captures/${encodeURIComponent(id)}`, undefined, true, curator.headers());
      toast(t('deleted'));
      this.selected = null;
      await this.refresh();
    } catch (err) {
      const e = err as ApiError;
      toast(e.code === 'protected' ? t('delete_protected') : `${t('delete_failed')}: ${e.message}`, true);
    }
  }
}
