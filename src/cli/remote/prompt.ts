/** Asking the person at the terminal for a user name or a password (not echoed), and reading piped input. */
import { createInterface } from 'node:readline/promises';
import { InvalidArgument } from '../../core/index.ts';

/** All of standard input as text (for `--password-stdin`). */
export async function readStdin(): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of process.stdin) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks).toString('utf8');
}

function requireTerminal(what: string, flag: string): void {
  if (!process.stdin.isTTY) throw new InvalidArgument(`no terminal to ask for the ${what}`, `pass ${flag}`);
}

/** One line typed at the terminal, echoed. */
export async function promptLine(prompt: string): Promise<string> {
  requireTerminal('user name', '--username <name>');
  const rl = createInterface({ input: process.stdin, output: process.stderr });
  try {
    return (await rl.question(prompt)).trim();
  } finally {
    rl.close();
  }
}

/** A secret typed at the terminal: nothing is echoed; Ctrl+C aborts. */
export async function promptSecret(prompt: string): Promise<string> {
  requireTerminal('password', '--password-stdin (e.g. `cat password.txt | capstan login … --password-stdin`)');
  process.stderr.write(prompt);
  const stdin = process.stdin;
  stdin.setRawMode(true);
  stdin.resume();
  try {
    return await new Promise<string>((resolve, reject) => {
      let typed = '';
      const onData = (chunk: Buffer) => {
        for (const ch of chunk.toString('utf8')) {
          if (ch === '\r' || ch === '\n') {
            stdin.off('data', onData);
            return resolve(typed);
          }
          if (ch === '\u0003') {
            stdin.off('data', onData);
            return reject(new InvalidArgument('sign-in interrupted'));
          }
          typed = ch === '\u007f' || ch === '\b' ? typed.slice(0, -1) : typed + ch;
        }
      };
      stdin.on('data', onData);
    });
  } finally {
    stdin.setRawMode(false);
    stdin.pause();
    process.stderr.write('\n');
  }
}
