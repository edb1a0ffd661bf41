// pods against a private containerd of its own (scripts/setup-cri.sh's, in a temp dir): empty at first and
// after a doctor run; a pod and a container carrying trace-compare's run label (what a SIGKILL leaves) are
// listed, a pod without it is not; once removed, empty again. Nothing is left behind.
import { describe, it, expect, beforeAll, afterAll } from 'vitest';
import { connectCri, type CriClient, type PodSandboxConfig } from '../../src/runners/cri/client.js';
import { RUN_LABEL } from '../../src/runners/cri/pod-spec.js';
import { CRI_MISSING, usePrivateCri } from '../helpers/private-cri.js';

const reason = `pods live tests skipped: need ${CRI_MISSING.join(', ')} (a private containerd: run as root after scripts/setup.sh)`;
if (CRI_MISSING.length) console.warn(reason);

interface PodsJson { pods: { id: string; name: string; handler: string; state: string; run: string }[]; containers: { id: string; name: string; podId: string; state: string; run: string }[] }

describe.skipIf(CRI_MISSING.length > 0)('trace-compare pods (a private containerd of its own)', () => {
  const node = usePrivateCri('tc-pd');
  const cli = (cmd: 'pods' | 'doctor', ...args: string[]) => node.cli(cmd, ...args);
  let cri: CriClient;

  beforeAll(async () => {
    cri = await connectCri(node.endpoint());
  });

  afterAll(() => {
    cri?.close();
  });

  it('nothing of ours at first, and nothing after a doctor run', async () => {
    const first = await cli('pods');
    expect(first.exitCode).toBe(0);
    expect(first.stdout).toBe(`no pod sandbox or container of trace-compare at unix://${node.dir}/containerd.sock`);
    expect((await cli('doctor', '--pod', 'runc', '--pod', 'gvisor')).exitCode).toBe(0);
    const after = await cli('pods', '--format', 'json');
    expect(JSON.parse(after.stdout)).toEqual({ endpoint: `unix://${node.dir}/containerd.sock`, pods: [], containers: [] });
  });

  it('a pod and a container with the run label are listed (table and JSON); a pod without it is not; removed, empty again', async () => {
    const pod = (name: string, labels: Record<string, string>): PodSandboxConfig => ({
      metadata: { name, uid: name, namespace: 'trace-compare-test', attempt: 0 },
      logDirectory: node.tmp,
      labels,
      linux: { securityContext: { namespaceOptions: { network: 'NODE', pid: 'CONTAINER', ipc: 'POD' } } },
    });
    const ours = pod('left-by-sigkill', { [RUN_LABEL]: 'run-1234' });
    const theirs = pod('not-ours', { app: 'other' });
    const oursId = (await cri.runPodSandbox({ config: ours, runtimeHandler: 'runc' })).podSandboxId;
    const theirsId = (await cri.runPodSandbox({ config: theirs, runtimeHandler: 'runc' })).podSandboxId;
    try {
      const { containerId } = await cri.createContainer({
        podSandboxId: oursId, sandboxConfig: ours,
        config: { metadata: { name: 'workload' }, image: { image: 'localhost/trace-compare/sandbox:1' }, command: ['/bin/busybox', 'sleep', '60'], labels: { [RUN_LABEL]: 'run-1234' } },
      });
      await cri.startContainer({ containerId });

      const json = await cli('pods', '--format', 'json');
      expect(json.exitCode).toBe(0);
      const r = JSON.parse(json.stdout) as PodsJson;
      expect(r.pods.map((p) => [p.id, p.name, p.handler, p.state, p.run])).toEqual([[oursId, 'left-by-sigkill', 'runc', 'READY', 'run-1234']]);
      expect(r.containers.map((c) => [c.id, c.name, c.podId, c.state, c.run])).toEqual([[containerId, 'workload', oursId, 'RUNNING', 'run-1234']]);

      const table = await cli('pods');
      expect(table.stdout).toMatch(new RegExp(`^${oursId.slice(0, 13)} +\\S+Z +READY +left-by-sigkill +trace-compare-test +runc +run-1234$`, 'm'));
      expect(table.stdout).toMatch(new RegExp(`^${containerId.slice(0, 13)} +\\S+Z +RUNNING +workload +${oursId.slice(0, 13)} +localhost/trace-compare/sandbox:1 +run-1234$`, 'm'));
      expect(table.stdout).not.toContain('not-ours');
    } finally {
      for (const id of [oursId, theirsId]) {
        await cri.stopPodSandbox({ podSandboxId: id });
        await cri.removePodSandbox({ podSandboxId: id });
      }
    }
    expect((await cli('pods')).stdout).toBe(`no pod sandbox or container of trace-compare at unix://${node.dir}/containerd.sock`);
    expect((await cri.listPodSandbox()).items).toEqual([]);
  });
});
