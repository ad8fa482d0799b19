import { Command } from 'commander';
import { labCommand, reportError } from './lab-commands.js';
import { topologyCommand } from './topology-commands.js';
import { targetCommand } from './target-commands.js';
import { scenarioCommand } from './scenario-commands.js';
import { runCommand, replayCommand, listCommand, reportCommand } from './run-commands.js';

const program = new Command('sch')
  .description('SecureConnect load-and-chaos harness: load (k6) + faults on a timeline + audit claims → verdicts')
  .showHelpAfterError()
  .addCommand(runCommand())
  .addCommand(listCommand())
  .addCommand(reportCommand())
  .addCommand(replayCommand())
  .addCommand(labCommand())
  .addCommand(topologyCommand())
  .addCommand(targetCommand())
  .addCommand(scenarioCommand());

program.parseAsync(process.argv).catch(reportError);
