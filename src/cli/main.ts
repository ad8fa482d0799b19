import { Command } from 'commander';
import { labCommand, reportError } from './lab-commands.js';
import { topologyCommand } from './topology-commands.js';
import { targetCommand } from './target-commands.js';
import { scenarioCommand } from './scenario-commands.js';
import { runCommand, replayCommand, listCommand, reportCommand, analyzeCommand } from './run-commands.js';
import { auditDir, auditDirProblem, setAuditDir } from '../util/audit-quotes.js';
import { usageErrorsExit2 } from './k6-flags.js';
import { EXIT } from '../util/exit-codes.js';
import { validateCommand } from './validate-commands.js';
import { faultCommand } from './fault-commands.js';
import { k6OperatorCommand } from './k6-operator-commands.js';
import { benchCommand } from './bench-commands.js';

const program = new Command('sch')
  .description('SecureConnect load-and-chaos harness: load (k6) + faults on a timeline + audit claims → verdicts')
  .option('--audit-dir <dir>', 'SecureConnect\'s audits, quoted by budgets and claims (default: SC_AUDIT_DIR, else ../shared/secureconnect beside the repository)')
  .hook('preAction', () => {
    const dir = program.opts<{ auditDir?: string }>().auditDir;
    if (dir === undefined) return;
    setAuditDir(dir);
    const problem = auditDirProblem();
    if (problem) {
      // Bad input: exit 2, like every refused input.
      process.stderr.write(`error: --audit-dir ${dir}: ${problem}\n`);
      process.exit(EXIT.badInput);
    }
    // Child processes (replays, test runs) see the same audits.
    process.env.SC_AUDIT_DIR = auditDir();
  })
  .addCommand(runCommand())
  .addCommand(listCommand())
  .addCommand(reportCommand())
  .addCommand(analyzeCommand())
  .addCommand(replayCommand())
  .addCommand(labCommand())
  .addCommand(topologyCommand())
  .addCommand(targetCommand())
  .addCommand(scenarioCommand())
  .addCommand(validateCommand())
  .addCommand(faultCommand())
  .addCommand(k6OperatorCommand())
  .addCommand(benchCommand());

// After every command is added: commander's usage errors exit 2 in each of them.
usageErrorsExit2(program);
program.parseAsync(process.argv).catch(reportError);
