// Text from a trace (the workload's output, file names, process names) printed on a terminal must not
// drive it: a program's own `ESC]0;title BEL` or `ESC[2J` would retitle or clear the user's terminal.

/** C0 controls but \t and \n, DEL, and C1 controls (U+0080..U+009F, which some terminals obey too). */
const CONTROLS = /[\x00-\x08\x0b-\x1f\x7f-\x9f]/g;

/** `\x1b`, `\x7f`, `\u009b`: the control made visible, as a C or JS string would spell it. */
export function escapeControls(text: string): string {
  return text.replace(CONTROLS, (c) => {
    const n = c.charCodeAt(0);
    return n < 0x80 ? '\\x' + n.toString(16).padStart(2, '0') : '\\u' + n.toString(16).padStart(4, '0');
  });
}

/** JSON.stringify escapes C0 but leaves DEL and C1 raw; `\u007f`-style escapes keep the same JSON value. */
const JSON_RAW_CONTROLS = /[\x7f-\x9f]/g;

/** JSON text safe for a terminal: the same value, with DEL and C1 controls written as `\u00XX` escapes. */
export function terminalSafeJson(json: string): string {
  return json.replace(JSON_RAW_CONTROLS, (c) => '\\u' + c.charCodeAt(0).toString(16).padStart(4, '0'));
}
