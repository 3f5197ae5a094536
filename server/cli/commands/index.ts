// Every subcommand of `crackscope`, in the order its help lists them. A new command is a module
// beside this one (see ../README.md) and one line here.
import type { CommandSpec } from '../program.js';
import serve from './serve.js';
import bench from './bench.js';
import infer from './infer.js';
import survey from './survey.js';
import surveyDiff from './survey-diff.js';
import buildEngine from './build-engine.js';
import soak from './soak.js';
import compare from './compare.js';
import config from './config.js';
import campaign from './campaign.js';
import worker from './worker.js';
import doctor from './doctor.js';

export const COMMANDS: CommandSpec<any>[] = [serve, bench, infer, compare, survey, surveyDiff, campaign, worker, buildEngine, doctor, soak, config];
