import { Command } from 'commander';
import { labCommand, reportError } from './lab-commands.js';
import { topologyCommand } from './topology-commands.js';
import { targetCommand } from './target-commands.js';

const program = new Command('sch')
  .description('SecureConnect load-and-chaos harness')
  .showHelpAfterError()
  .addCommand(labCommand())
  .addCommand(topologyCommand())
  .addCommand(targetCommand());

program.parseAsync(process.argv).catch(reportError);
