// `trace-compare doctor [--pod NAME]... [--cri-endpoint unix:///...]`: walks the seed's chain for each
// RuntimeClass (binary, CRI runtime, handler in its config, sandbox image, a pod, its kernel release) and,
// when the runtime refuses the handler, says what that means and prints the stanza and RuntimeClass that
// fix it. The checks are in src/doctor/checks.ts; this file wires them, renders, and picks the exit code.

import { randomBytes } from 'node:crypto';
import { ExitCode, UserError } from '../errors.js';
import { makeChalk } from '../format.js';
import { writeOut } from '../output.js';
import { escapeControls, terminalSafeJson } from '../report/escape.js';
import { withStopSignals } from './stop-signals.js';
import { defaultCriEndpoint } from '../runners/cri/endpoint.js';
import { connectCri } from '../runners/cri/client.js';
import { resolveCriEnvironment } from '../runners/cri/pod-spec.js';
import { RunError } from '../runners/errors.js';
import { CHECKS, checkBinary, checkHandlerConfigured, checkPod, checkSandboxImage, fixFor, readCriConfig, type Check, type Node, type PodDiagnosis } from '../doctor/checks.js';
import { WORDINGS } from '../runners/cri/wording.js';
import { SHARED_OPTIONS, type ArgsOf, type OptionSpec } from './options.js';

export const DOCTOR_OPTIONS = {
  pod: {
    type: 'string', array: true, value: 'NAME',
    describe: 'a RuntimeClass to check: runc, gvisor (handler runsc), kata, or NAME=HANDLER; repeatable. Default: runc and gvisor',
  },
  'cri-endpoint': SHARED_OPTIONS['cri-endpoint'],
  format: SHARED_OPTIONS.tableOrJson,
} as const satisfies Record<string, OptionSpec>;

export type DoctorArgs = ArgsOf<typeof DOCTOR_OPTIONS>;

const DEFAULT_PODS = ['runc', 'gvisor'];

/** `--pod NAME` resolved as the CRI backend does (gvisor -> runsc, NAME=HANDLER, else NAME); a bad name is exit 2. */
function resolvePod(spec: string): { runtimeClass: string; handler: string } {
  try {
    const e = resolveCriEnvironment(spec);
    return { runtimeClass: e.name, handler: e.handler };
  } catch (err) {
    if (err instanceof RunError) throw new UserError(err.message, ExitCode.Usage, err.context.hint);
    throw err;
  }
}

export interface DoctorReport {
  endpoint: string;
  runtime: { name: string; version: string; apiVersion: string } | null;
  pods: PodDiagnosis[];
}

/** Runs every check; resolves to the exit code. */
export async function runDoctor(a: DoctorArgs, early: NodeJS.Signals | null = null): Promise<number> {
  const pods = (a.pod && a.pod.length > 0 ? a.pod : DEFAULT_PODS).map((p) => ({ pod: p, ...resolvePod(p) }));
  return withStopSignals(early, async (controller) => {
    // A stop signal cancels the call in flight; the pod check's finally still stops and removes its pod.
    const report = await diagnose(a['cri-endpoint'] ?? (await defaultCriEndpoint()), pods, controller.signal);
    if (controller.signal.aborted) return ExitCode.Interrupted; // withStopSignals answers 128+N
    await writeOut(a.format === 'json' ? terminalSafeJson(JSON.stringify(report, null, 2)) + '\n' : renderDoctor(report));
    return exitCode(report);
  });
}

async function diagnose(endpoint: string, pods: { pod: string; runtimeClass: string; handler: string }[], signal: AbortSignal): Promise<DoctorReport> {
  const node: Node = { endpoint, cri: null, failure: null, version: null, config: null, configFailure: null };
  try {
    node.cri = await connectCri(endpoint);
    node.version = await node.cri.version({ signal });
    node.config = readCriConfig((await node.cri.status({ verbose: true }, { signal })).info);
    if (!node.config) node.configFailure = `${node.version.runtimeName} publishes no CRI config in Status (verbose)`;
  } catch (e) {
    // An address that is no socket's is the user's to fix (exit 2); a runtime that does not answer is a finding.
    if (e instanceof RunError && e.code === 'BAD_REQUEST') throw new UserError(e.message, ExitCode.Usage, e.context.hint);
    if (!node.cri) node.failure = (e as Error).message;
    else node.configFailure = `CRI Status: ${(e as Error).message}`;
  }
  try {
    const results: PodDiagnosis[] = [];
    for (const p of pods) {
      if (signal.aborted) break;
      results.push(await diagnosePod(node, p, signal));
    }
    const v = node.version;
    return { endpoint, runtime: v ? { name: v.runtimeName, version: v.runtimeVersion, apiVersion: v.runtimeApiVersion } : null, pods: results };
  } finally {
    node.cri?.close();
  }
}

async function diagnosePod(node: Node, p: { pod: string; runtimeClass: string; handler: string }, signal: AbortSignal): Promise<PodDiagnosis> {
  const checks: Check[] = [await checkBinary(p.handler, signal)];
  const v = node.version;
  checks.push(node.cri && v
    ? { name: 'CRI runtime', status: 'ok', detail: `${v.runtimeName} ${v.runtimeVersion} at ${node.endpoint}, CRI ${v.runtimeApiVersion}` }
    : { name: 'CRI runtime', status: 'failed', detail: node.failure ?? 'no answer' });
  const handlerCheck = await checkHandlerConfigured(node, p.handler);
  checks.push(handlerCheck);
  const image = await checkSandboxImage(node, signal);
  checks.push(image);
  const pod = await checkPod(node, p.handler, `doctor-${randomBytes(6).toString('hex')}`, image.status === 'ok', signal);
  checks.push(...pod.checks);
  // The fix: for the refusal the runtime gave, or (the pod not tried) for the handler its config lacks.
  const notConfigured = handlerCheck.status === 'failed' && node.config && !node.config.runtimes[p.handler];
  const refusal = pod.refusal ?? (notConfigured && node.version?.runtimeName === 'containerd'
    ? { runtime: 'containerd' as const, handler: p.handler, words: WORDINGS[0]!.example(p.handler) }
    : null);
  const fix = refusal ? await fixFor(node, refusal, p.runtimeClass) : null;
  return { pod: p.pod, runtimeClass: p.runtimeClass, handler: p.handler, checks, release: pod.release, fix };
}

/**
 * 0: every check ok. 4: a link is missing (the runtime binary, the CRI runtime, the handler). 5: everything
 * is there but the runtime failed to start the pod or its container.
 */
export function exitCode(report: DoctorReport): number {
  const all = report.pods.flatMap((p) => p.checks);
  if (all.every((c) => c.status === 'ok')) return ExitCode.Ok;
  const missing = report.pods.some((p) => p.fix !== null || p.checks.some((c) => c.status === 'failed' && (c.name === 'runtime binary' || c.name === 'CRI runtime' || c.name === 'handler configured')));
  return missing ? ExitCode.MissingRuntime : ExitCode.RuntimeFailed;
}

const RUNTIME_NAMES: Record<string, string> = { containerd: 'containerd', dockershim: 'dockershim', 'cri-o': 'CRI-O' };

const indent = (text: string, pad: string) => text.trimEnd().split('\n').map((l) => pad + l).join('\n') + '\n';

export function renderDoctor(report: DoctorReport): string {
  const c = makeChalk();
  const mark = { ok: c.green('ok     '), failed: c.red('failed '), skipped: c.yellow('skipped') };
  const width = Math.max(...CHECKS.map((n) => n.length));
  let out = `CRI endpoint ${escapeControls(report.endpoint)}\n`;
  for (const p of report.pods) {
    out += `\n${c.bold(escapeControls(p.pod))}: RuntimeClass ${escapeControls(p.runtimeClass)}, handler ${escapeControls(p.handler)}\n`;
    for (const ch of p.checks) out += `  ${mark[ch.status]}  ${ch.name.padEnd(width)}  ${escapeControls(ch.detail)}\n`;
    const f = p.fix;
    if (!f) continue;
    out += `\n  ${c.bold('What it means.')} ${RUNTIME_NAMES[f.refusal.runtime]} refused the handler in its own words: ${escapeControls(f.refusal.words)}\n`;
    out += `  ${f.otherWordings.map((w) => `${w.runtime === 'dockershim' ? 'the seed\'s node (dockershim) says' : `${RUNTIME_NAMES[w.runtime]} says`}: ${escapeControls(w.words)}`).join('; ')}.\n`;
    out += `  ${escapeControls(f.meaning)}\n`;
    out += `\n  ${c.bold('The fix.')} Add to ${f.configFile}:\n\n${indent(escapeControls(f.stanza), '    ')}`;
    if (f.upstream) out += `\n  Or ${escapeControls(f.upstream.note)}\n\n${indent(escapeControls(f.upstream.stanza), '    ')}`;
    out += `\n  The RuntimeClass that goes with it (kubectl apply -f -):\n\n${indent(escapeControls(f.runtimeClass), '    ')}`;
  }
  return out;
}
