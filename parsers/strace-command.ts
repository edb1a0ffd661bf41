// A shell prompt running strace, pasted with the trace it made (blogs, course notes, the seed):
//   lucaswaisten@lucaswaisten-Sword-15-A11UD:~$ strace ls
//   [dash@localhost ~]$ strace ls /tmp
//   $ strace -f -s 256 -T echo "hi"
//   root@master:~# strace uname -r execve("/bin/uname", ...   (flattened: the trace follows on the same line)
// Recognised only in text no other rule understood (never on the hot path); the command is what follows the
// prompt up to the end of that text.

export interface PastedCommand {
  /** Offset in the text where the prompt (or the bare `strace`) starts. */
  at: number;
  prompt: string;
  /** strace's command line, shell-split; `sudo ...` before it left out. */
  argv: string[];
  /** The traced command: argv after strace's options; empty for `-p PID`. */
  command: string[];
}

// A prompt: an optional `(venv) `, then `[user@host dir]`, `user@host:dir`, `host:dir`, `bash-5.1` or nothing,
// then `$`, `#`, `%` or `>`. Then the command: optional `sudo [-opts]`, then the word strace.
const PROMPTED =
  /(?:^|\s)((?:\([^()\s]*\)\s*)?(?:\[[^\]\n]*\]|[\w.-]+@[\w.-]+(?::[^\s$#%>]*)?|[\w.~/-]+:[^\s$#%>]*|[\w.-]+)?[$#%>])[ \t]+((?:sudo(?:[ \t]+-\S+)*[ \t]+)?strace(?:[ \t][^\n]*)?)$/;
const BARE = /^()((?:sudo(?:[ \t]+-\S+)*[ \t]+)?strace(?:[ \t][^\n]*)?)$/;

/** The strace command line a prompt runs at the end of `text` (one line, or a flattened run), or null. */
export function pastedCommand(text: string): PastedCommand | null {
  const t = text.trimEnd();
  if (t.indexOf('strace') < 0) return null;
  const m = PROMPTED.exec(t) ?? BARE.exec(t);
  if (m === null) return null;
  const words = shellWords(m[2]!);
  while (words.length > 0 && words[0] !== 'strace' && !words[0]!.endsWith('/strace')) words.shift();
  if (words.length === 0) return null;
  // m[0] may start with the whitespace before the prompt.
  const at = m.index + (m[0].length - m[0].trimStart().length);
  return { at, prompt: m[1]!.trim(), argv: words, command: tracedCommand(words) };
}

/**
 * Shell words up to the first unquoted `|`, `;` or `&` (what follows is another command), with quotes and
 * backslashes removed and redirections (`2>&1`, `> out`, `<in`) dropped.
 */
export function shellWords(line: string): string[] {
  const words: string[] = [];
  let cur = '';
  let inWord = false;
  let skipNext = false;
  const push = (): void => {
    if (!inWord) return;
    if (skipNext) skipNext = false;
    else if (/^\d*(?:>>?|<)&?\S*$/.test(cur) && !/^\d+$/.test(cur)) {
      // A redirection: `>` alone takes the next word as its file.
      if (/^\d*(?:>>?|<)&?$/.test(cur)) skipNext = true;
    } else words.push(cur);
    cur = '';
    inWord = false;
  };
  for (let i = 0; i < line.length; i++) {
    const c = line[i]!;
    if (c === ' ' || c === '\t') { push(); continue; }
    if (c === '|' || c === ';' || (c === '&' && !/[<>]$/.test(cur))) break;
    inWord = true;
    if (c === "'") {
      const e = line.indexOf("'", i + 1);
      if (e < 0) { cur += line.slice(i + 1); break; }
      cur += line.slice(i + 1, e);
      i = e;
    } else if (c === '"') {
      let j = i + 1;
      for (; j < line.length && line[j] !== '"'; j++) {
        if (line[j] === '\\' && j + 1 < line.length && '"\\$`'.includes(line[j + 1]!)) j++;
        cur += line[j];
      }
      i = j;
    } else if (c === '\\' && i + 1 < line.length) {
      cur += line[++i];
    } else cur += c;
  }
  push();
  return words;
}

/** strace's short options that take an argument (strace 6), and long ones that require one (`--trace open`). */
const SHORT_WITH_ARG = new Set('abeEIoOpPsSuUX'.split(''));
const LONG_WITH_ARG = new Set([
  '--output', '--attach', '--trace', '--signal', '--status', '--string-limit', '--summary-sort-by', '--user',
  '--env', '--columns', '--trace-path', '--const-print-style', '--abbrev', '--verbose', '--raw', '--read',
  '--write', '--fault', '--inject', '--kvm',
]);

/** The command strace runs: its argv after strace's own options; empty when it attaches (`-p`, `--attach`). */
export function tracedCommand(argv: string[]): string[] {
  let attach = false;
  let i = 1;
  for (; i < argv.length; i++) {
    const a = argv[i]!;
    if (a === '--') { i++; break; }
    if (a.startsWith('--')) {
      const name = a.split('=')[0]!;
      if (name === '--attach') attach = true;
      if (!a.includes('=') && LONG_WITH_ARG.has(name)) i++;
      continue;
    }
    if (!a.startsWith('-') || a === '-') break;
    for (let k = 1; k < a.length; k++) {
      const c = a[k]!;
      if (!SHORT_WITH_ARG.has(c)) continue;
      if (c === 'p') attach = true;
      if (k === a.length - 1) i++; // its argument is the next word
      break; // the rest of this word is the argument
    }
  }
  return attach ? [] : argv.slice(i);
}
