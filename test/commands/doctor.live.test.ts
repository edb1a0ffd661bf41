// doctor against real containerds of its own (scripts/setup-cri.sh's, in a temp dir): all ok with both
// handlers; then the seed's failure, made by removing the runsc handler from that containerd's config:
// containerd's words, the seed's, the stanza; then the printed stanza applied and containerd restarted:
// the gVisor pod runs and reports gVisor's release. Nothing is left: no pod, process, mount, temp dir.
import { describe, it, expect } from 'vitest';
import { execa } from 'execa';
import { appendFileSync, openSync, closeSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { gvisorRelease, has } from '../helpers/live.js';
import { CRI_MISSING, usePrivateCri } from '../helpers/private-cri.js';

const reason = `doctor live tests skipped: need ${CRI_MISSING.join(', ')} (a private containerd with runc and runsc: run as root after scripts/setup.sh)`;
if (CRI_MISSING.length) console.warn(reason);
const GVISOR_RELEASE = has('runsc') ? await gvisorRelease() : '';

interface Report { pods: { pod: string; handler: string; release: string | null; checks: { name: string; status: string; detail: string }[]; fix: { refusal: { runtime: string; words: string }; stanza: string; runtimeClass: string; upstream: { stanza: string } | null } | null }[] }

describe.skipIf(CRI_MISSING.length > 0)('trace-compare doctor (a private containerd of its own)', () => {
  const node = usePrivateCri('tc-dr');
  const doctor = (...args: string[]) => node.cli('doctor', ...args);
  const { setup } = node;

  /** containerd on `config.toml` as setup-cri.sh starts it (so its stop finds it), after the config was edited. */
  async function startContainerd() {
    const log = openSync(path.join(node.dir, 'containerd.log'), 'a');
    const child = execa('containerd', ['--config', path.join(node.dir, 'config.toml')], { detached: true, stdio: ['ignore', log, log], reject: false, cleanup: false });
    closeSync(log);
    writeFileSync(path.join(node.dir, 'containerd.pid'), `${child.pid}\n`);
    child.unref();
    for (let i = 0; i < 100; i++) {
      if ((await execa('ctr', ['--address', `${node.dir}/containerd.sock`, 'version'], { reject: false })).exitCode === 0) return;
      await new Promise((r) => setTimeout(r, 100));
    }
    throw new Error(`containerd did not answer: ${readFileSync(path.join(node.dir, 'containerd.log'), 'utf8').slice(-500)}`);
  }
  async function restartContainerd() {
    expect((await setup('stop')).exitCode).toBe(0);
    await startContainerd();
  }

  async function leftovers() {
    const ps = (await execa('ps', ['-eo', 'args'], { reject: false })).stdout.split('\n');
    const sandboxes = await execa('ctr', ['--address', `${node.dir}/containerd.sock`, '-n', 'k8s.io', 'containers', 'ls', '-q'], { reject: false });
    return {
      containers: sandboxes.stdout.trim(),
      // The shims and runsc processes of this containerd name its dir in their argv; containerd itself is expected.
      processes: ps.filter((a) => a.includes(node.dir) && !a.startsWith('containerd --config')),
      tempDirs: readdirSync(node.tmp),
    };
  }
  const NOTHING = { containers: '', processes: [], tempDirs: [] };

  it('with both handlers: every link ok, runc reports this kernel and gVisor its own release', async () => {
    const r = await doctor('--pod', 'runc', '--pod', 'gvisor', '--format', 'json');
    expect(r.stderr).toBe('');
    expect(r.exitCode).toBe(0);
    const rep = JSON.parse(r.stdout) as Report;
    for (const p of rep.pods) expect(p.checks.map((c) => `${c.name}: ${c.status}`)).toEqual([
      'runtime binary: ok', 'CRI runtime: ok', 'handler configured: ok', 'sandbox image: ok', 'pod starts: ok', 'kernel release: ok',
    ]);
    expect(rep.pods.map((p) => [p.pod, p.handler, p.release])).toEqual([['runc', 'runc', os.release()], ['gvisor', 'runsc', GVISOR_RELEASE]]);
    expect(await leftovers()).toEqual(NOTHING);
  });

  it('--pod kata on a node without kata: not configured, containerd\'s words, exit 4', async () => {
    const r = await doctor('--pod', 'kata');
    expect(r.exitCode).toBe(4);
    expect(r.stdout).toMatch(/failed\s+handler configured\s+containerd.runtimes has no "kata" \(configured: runc, runsc\)/);
    expect(r.stdout).toContain('no runtime for "kata" is configured');
    expect(r.stdout).toContain('runtime_type = "io.containerd.kata.v2"');
    expect(await leftovers()).toEqual(NOTHING);
  });

  it('the seed\'s failure: runsc removed from the config; the printed stanza applied, the gVisor pod runs', async () => {
    const config = path.join(node.dir, 'config.toml');
    const lines = readFileSync(config, 'utf8').split('\n');
    const from = lines.findIndex((l) => l.trim() === '[plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runsc]');
    expect(from).toBeGreaterThan(0);
    let to = from + 1;
    while (to < lines.length && !(/^\s*\[/.test(lines[to]!) && !lines[to]!.includes('runtimes.runsc'))) to++;
    writeFileSync(config, [...lines.slice(0, from), ...lines.slice(to)].join('\n'));
    expect(readFileSync(config, 'utf8')).not.toContain('runsc');
    await restartContainerd();

    const table = await doctor('--pod', 'gvisor');
    expect(table.exitCode).toBe(4);
    const out = table.stdout;
    // The chain: everything up to the handler is there; the handler is not; the pod fails in containerd's words.
    expect(out).toMatch(/ok\s+runtime binary/);
    expect(out).toMatch(/failed\s+handler configured\s+containerd.runtimes has no "runsc" \(configured: runc\)/);
    expect(out).toMatch(/ok\s+sandbox image/);
    expect(out).toContain('failed   pod starts          RunPodSandbox with handler "runsc": failed to get sandbox runtime: no runtime for "runsc" is configured');
    expect(out).toMatch(/skipped\s+kernel release\s+no pod/);
    // The seed's wording named, what it means, the fix and the RuntimeClass.
    expect(out).toContain('RuntimeHandler "runsc" not supported');
    expect(out).toContain('failed to find runtime handler runsc from runtime list');
    expect(out).toContain('ContainerCreating');
    expect(out).toContain(`    [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runsc]\n      runtime_type = "io.containerd.runc.v2"`);
    expect(out).toContain(`BinaryName = "${node.dir}/bin/runsc"`);
    expect(out).toContain('runtime_type = "io.containerd.runsc.v1"');
    expect(out).toContain('    apiVersion: node.k8s.io/v1\n    kind: RuntimeClass\n    metadata:\n      name: gvisor\n    handler: runsc');
    expect(await leftovers()).toEqual(NOTHING);

    // Apply the stanza exactly as printed (JSON gives it without the indent), restart: the pod runs under gVisor.
    const json = await doctor('--pod', 'gvisor', '--format', 'json');
    const fix = (JSON.parse(json.stdout) as Report).pods[0]!.fix!;
    expect(fix.refusal).toMatchObject({ runtime: 'containerd', words: 'no runtime for "runsc" is configured' });
    appendFileSync(config, '\n' + fix.stanza);
    await restartContainerd();
    const fixed = await doctor('--pod', 'gvisor', '--format', 'json');
    expect(fixed.exitCode).toBe(0);
    const p = (JSON.parse(fixed.stdout) as Report).pods[0]!;
    expect(p.checks.every((c) => c.status === 'ok')).toBe(true);
    expect(p.release).toBe(GVISOR_RELEASE);
    expect(p.fix).toBeNull();
    expect(await leftovers()).toEqual(NOTHING);
  });

  it('Ctrl-C while the gVisor pod runs: exit 130, the pod stopped and removed', async () => {
    const child = doctor('--pod', 'gvisor');
    // SIGINT once the pod exists (its shim runs), before doctor is done with it.
    let seen = false;
    for (let i = 0; i < 200 && !seen; i++) {
      seen = (await execa('ps', ['-eo', 'args'], { reject: false })).stdout.split('\n').some((a) => a.includes('containerd-shim') && a.includes(node.dir));
      if (!seen) await new Promise((r) => setTimeout(r, 50));
    }
    expect(seen).toBe(true);
    child.kill('SIGINT');
    const r = await child;
    expect(r.exitCode).toBe(130);
    expect(r.stderr).toContain('interrupted by SIGINT, cleaning up');
    expect(await leftovers()).toEqual(NOTHING);
  });
});
