import { type ChildProcess, execFile, spawn } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { closeSync, existsSync, openSync } from 'node:fs';
import { mkdir, mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { setTimeout as delay } from 'node:timers/promises';
import { CreateBucketCommand, S3Client } from '@aws-sdk/client-s3';
import { NodeHttpHandler } from '@smithy/node-http-handler';
import { missingPrograms } from './requires.js';

/** The Debian packages that bring a monitor, an OSD and the S3 gateway (and, through them, the tools). */
export const CEPH_PACKAGES = ['ceph-mon', 'ceph-osd', 'radosgw'] as const;

/** The commands a throwaway cluster needs, all from {@link CEPH_PACKAGES}. */
export const CEPH_COMMANDS = [
  'monmaptool',
  'ceph-mon',
  'ceph',
  'ceph-osd',
  'radosgw-admin',
  'radosgw',
] as const;

/** How to install {@link CEPH_PACKAGES}. */
export const CEPH_INSTALL = `apt-get install -y --no-install-recommends ${CEPH_PACKAGES.join(' ')}`;

/** The one S3 user of the throwaway cluster, made with `radosgw-admin user create`. */
export const RADOSGW_ACCESS_KEY_ID = 'ACTIVITYRADOSGWTEST0';
export const RADOSGW_SECRET_ACCESS_KEY = 'activity-radosgw-test-secret-not-for-use';

/** What a test needs to reach the gateway; plain data, so a global setup can hand it to test files. */
export interface RadosgwConnection {
  /** `http://127.0.0.1:PORT`, for `AWS_ENDPOINT_URL_S3`. */
  endpoint: string;
  accessKeyId: string;
  secretAccessKey: string;
  /** radosgw's default zone group takes any region name in signatures; tests use this one. */
  region: string;
  /** Milliseconds from nothing to the gateway answering S3 requests. */
  startMs: number;
}

export interface RunningRadosgw {
  connection: RadosgwConnection;
  /** The process ids of the monitor, the OSD and the gateway, in start order. */
  pids: number[];
  /** Stops every process by its id (gateway, OSD, monitor) and removes the cluster's files; safe to call twice. */
  close(): Promise<void>;
}

/** A long-running Ceph process started by {@link startRadosgw}. */
interface Daemon {
  name: string;
  child: ChildProcess;
  log: string;
  exited: Promise<void>;
  running: boolean;
}

const SETPRIV = '/usr/bin/setpriv';

/** `count` distinct ports on 127.0.0.1 that were free a moment ago (held together, so never the same). */
async function freePorts(count: number): Promise<number[]> {
  const servers = Array.from({ length: count }, () => createServer());
  const ports: number[] = [];
  for (const server of servers) {
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(0, '127.0.0.1', resolve);
    });
    const address = server.address();
    if (address === null || typeof address === 'string') throw new Error('could not pick a free port');
    ports.push(address.port);
  }
  await Promise.all(servers.map((server) => new Promise<void>((resolve) => server.close(() => resolve()))));
  return ports;
}

/** The last lines of a log file, for an error message; empty when there is none. */
async function tail(file: string, lines = 15): Promise<string> {
  const text = await readFile(file, 'utf8').catch(() => '');
  return text.trimEnd().split('\n').slice(-lines).join('\n');
}

const DIR_PREFIX = 'activity-ceph-';

/** True while a process with this id exists. */
function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/**
 * Removes the directories of clusters whose test process died without closing them (killed, or
 * interrupted before its teardown ran); their daemons died with it. Live runs are left alone.
 */
async function removeOrphanedClusters(): Promise<void> {
  const names = await readdir(tmpdir()).catch(() => [] as string[]);
  for (const name of names.filter((n) => n.startsWith(DIR_PREFIX))) {
    const dir = path.join(tmpdir(), name);
    const owner = Number.parseInt(await readFile(path.join(dir, 'owner.pid'), 'utf8').catch(() => ''), 10);
    if (Number.isInteger(owner) && !isAlive(owner)) await rm(dir, { recursive: true, force: true });
  }
}

/**
 * The cluster's whole configuration: one monitor, one BlueStore OSD on a sparse file, no cephx.
 * Pools have one replica and few placement groups, so radosgw's own pools fit on one OSD; the
 * monitor's free-space alarms are lowered so a busy shared disk cannot stop it; and
 * `ms_mon_client_mode = crc secure` is required, or radosgw waits forever for the monitor.
 */
function cephConf(dir: string, fsid: string, monPort: number): string {
  return `[global]
fsid = ${fsid}
mon_host = v2:127.0.0.1:${monPort}
public_addr = 127.0.0.1
ms_bind_msgr1 = false
ms_bind_ipv6 = false
auth_cluster_required = none
auth_service_required = none
auth_client_required = none
ms_mon_client_mode = crc secure
run_dir = ${dir}/run
admin_socket = ${dir}/run/$name.asok
log_file = ${dir}/log/$name.log
pid_file =
osd_pool_default_size = 1
osd_pool_default_min_size = 1
osd_pool_default_pg_num = 8
osd_pool_default_pgp_num = 8
osd_pool_default_pg_autoscale_mode = off
osd_crush_chooseleaf_type = 0
mon_allow_pool_size_one = true
mon_max_pg_per_osd = 1000
mon_warn_on_pool_no_redundancy = false
mon_data_avail_warn = 2
mon_data_avail_crit = 1

[mon]
mon_data = ${dir}/mon

[osd]
osd_data = ${dir}/osd
osd_objectstore = bluestore
bluestore_block_create = true
bluestore_block_size = 4294967296
bluestore_fsck_on_mount = false
osd_memory_target = 1073741824

[client]
rgw_data = ${dir}/rgw
`;
}

/**
 * Starts a throwaway one-node Ceph cluster (monitor, one OSD on a file, radosgw on a free
 * 127.0.0.1 port) in a fresh temporary directory, with one S3 user, and waits until S3 answers.
 * Needs the Debian packages in {@link CEPH_PACKAGES}; no root, no Docker.
 *
 * Every process is a child of this one, stopped by its id in `close()`. Each is also started under
 * `setpriv --pdeathsig SIGKILL`, so the kernel kills it if this process dies without closing (a
 * crash, `kill -9`): no Ceph process outlives the test run.
 */
export async function startRadosgw(): Promise<RunningRadosgw> {
  const missing = missingPrograms(CEPH_COMMANDS);
  if (missing.length > 0) {
    throw new Error(`Ceph is not installed (no ${missing.join(', ')} on PATH): run ${CEPH_INSTALL}`);
  }
  const started = performance.now();
  await removeOrphanedClusters();
  const dir = await mkdtemp(path.join(tmpdir(), DIR_PREFIX));
  await writeFile(path.join(dir, 'owner.pid'), `${process.pid}\n`);
  const conf = path.join(dir, 'ceph.conf');
  const daemons: Daemon[] = [];
  const usePdeathsig = existsSync(SETPRIV);
  let closed = false;

  const killAll = (): void => {
    for (const daemon of daemons) if (daemon.running) daemon.child.kill('SIGKILL');
  };
  process.once('exit', killAll);
  // Stops the daemons newest first: the gateway, then the OSD while the monitor can still take its
  // "going down" message (else it waits 5 s for an answer), then the monitor.
  const close = async (): Promise<void> => {
    if (closed) return;
    closed = true;
    for (const daemon of [...daemons].reverse()) {
      if (!daemon.running) continue;
      daemon.child.kill('SIGTERM');
      const stopped = await Promise.race([daemon.exited.then(() => true), delay(5_000, false)]);
      if (!stopped) daemon.child.kill('SIGKILL');
      await daemon.exited;
    }
    process.off('exit', killAll);
    await rm(dir, { recursive: true, force: true });
  };

  // Rejects as soon as any daemon exits during start-up, so a crash fails fast with its log.
  let onDeath: (error: Error) => void = () => undefined;
  const death = new Promise<never>((_, reject) => {
    onDeath = reject;
  });
  death.catch(() => undefined);

  const spawnDaemon = (name: string, command: string, args: string[]): void => {
    const log = path.join(dir, 'log', `${name}.out`);
    const fd = openSync(log, 'a');
    const child = usePdeathsig
      ? spawn(SETPRIV, ['--pdeathsig', 'SIGKILL', '--', command, ...args], { stdio: ['ignore', fd, fd] })
      : spawn(command, args, { stdio: ['ignore', fd, fd] });
    closeSync(fd);
    const daemon: Daemon = { name, child, log, running: true, exited: Promise.resolve() };
    daemon.exited = new Promise<void>((resolve) => {
      child.once('exit', (code, signal) => {
        daemon.running = false;
        resolve();
        if (!closed) onDeath(new Error(`${name} exited during start-up (${signal ?? `code ${code}`})`));
      });
      child.once('error', (error) => {
        daemon.running = false;
        resolve();
        onDeath(new Error(`${name} could not start: ${error.message}`));
      });
    });
    daemons.push(daemon);
  };

  // Runs a one-shot Ceph command to its end, failing fast if a daemon dies meanwhile.
  const run = async (command: string, args: string[], timeoutMs = 60_000): Promise<string> => {
    const finished = new Promise<string>((resolve, reject) => {
      execFile(
        command,
        args,
        { timeout: timeoutMs, killSignal: 'SIGKILL', maxBuffer: 4 * 1024 * 1024 },
        (error, stdout, stderr) => {
          if (error) {
            const detail = stderr.trim().split('\n').slice(-5).join(' | ');
            reject(
              new Error(`${command} ${args.join(' ')} failed (${error.message.split('\n')[0]}): ${detail}`),
            );
          } else resolve(stdout);
        },
      );
    });
    return Promise.race([finished, death]);
  };

  try {
    for (const sub of ['mon', 'osd', 'log', 'run', 'rgw']) await mkdir(path.join(dir, sub));
    const [monPort = 0, rgwPort = 0] = await freePorts(2);
    const fsid = randomUUID();
    await writeFile(conf, cephConf(dir, fsid, monPort));

    const monmap = path.join(dir, 'monmap');
    await run('monmaptool', ['--create', '--fsid', fsid, '--addv', 'a', `[v2:127.0.0.1:${monPort}]`, monmap]);
    await run('ceph-mon', ['-c', conf, '--mkfs', '-i', 'a', '--monmap', monmap]);
    spawnDaemon('mon.a', 'ceph-mon', ['-c', conf, '-i', 'a', '-f']);

    const osdUuid = randomUUID();
    const osdId = (await run('ceph', ['-c', conf, '--connect-timeout', '30', 'osd', 'new', osdUuid])).trim();
    await run('ceph-osd', ['-c', conf, '-i', osdId, '--mkfs', '--osd-uuid', osdUuid]);
    spawnDaemon(`osd.${osdId}`, 'ceph-osd', ['-c', conf, '-i', osdId, '-f']);

    // Creates radosgw's pools as a side effect, so it also waits until the OSD serves them.
    await run(
      'radosgw-admin',
      [
        '-c',
        conf,
        'user',
        'create',
        '--uid',
        'activity',
        '--display-name',
        'activity-pipeline tests',
        '--access-key',
        RADOSGW_ACCESS_KEY_ID,
        '--secret-key',
        RADOSGW_SECRET_ACCESS_KEY,
      ],
      120_000,
    );
    spawnDaemon('rgw', 'radosgw', [
      '-c',
      conf,
      '-n',
      'client.rgw',
      '-f',
      `--rgw_frontends=beast endpoint=127.0.0.1:${rgwPort}`,
    ]);

    const endpoint = `http://127.0.0.1:${rgwPort}`;
    const deadline = performance.now() + 60_000;
    for (;;) {
      const answered = await Promise.race([
        fetch(`${endpoint}/`).then(
          (response) => response.status > 0,
          () => false,
        ),
        death,
      ]);
      if (answered) break;
      if (performance.now() > deadline) throw new Error(`radosgw did not answer on ${endpoint} within 60 s`);
      await delay(200);
    }

    return {
      connection: {
        endpoint,
        accessKeyId: RADOSGW_ACCESS_KEY_ID,
        secretAccessKey: RADOSGW_SECRET_ACCESS_KEY,
        region: 'us-east-1',
        startMs: Math.round(performance.now() - started),
      },
      pids: daemons.map((daemon) => daemon.child.pid ?? -1),
      close,
    };
  } catch (error) {
    const logs: string[] = [];
    for (const daemon of daemons) {
      const text = (await tail(path.join(dir, 'log', `${daemon.name}.log`))) || (await tail(daemon.log));
      if (text !== '') logs.push(`--- ${daemon.name}\n${text}`);
    }
    await close();
    const message = error instanceof Error ? error.message : String(error);
    throw new Error(`could not start a Ceph cluster for radosgw: ${message}\n${logs.join('\n')}`, {
      cause: error,
    });
  }
}

/** The environment a user sets to point the `activity` command at the gateway. */
export function radosgwCliEnv(connection: RadosgwConnection): NodeJS.ProcessEnv {
  return {
    AWS_REGION: connection.region,
    AWS_ACCESS_KEY_ID: connection.accessKeyId,
    AWS_SECRET_ACCESS_KEY: connection.secretAccessKey,
    AWS_EC2_METADATA_DISABLED: 'true',
    AWS_ENDPOINT_URL_S3: connection.endpoint,
    AWS_CONFIG_FILE: path.join(tmpdir(), 'activity-no-aws-config'),
    AWS_SHARED_CREDENTIALS_FILE: path.join(tmpdir(), 'activity-no-aws-credentials'),
  };
}

/** A client for the gateway, independent of the store's own set-up. Destroy it when done. */
export function radosgwClient(connection: RadosgwConnection): S3Client {
  return new S3Client({
    region: connection.region,
    endpoint: connection.endpoint,
    forcePathStyle: true,
    maxAttempts: 1,
    credentials: { accessKeyId: connection.accessKeyId, secretAccessKey: connection.secretAccessKey },
    requestHandler: new NodeHttpHandler(),
  });
}

/** Creates `bucket` on the gateway. */
export async function createRadosgwBucket(connection: RadosgwConnection, bucket: string): Promise<void> {
  const client = radosgwClient(connection);
  try {
    await client.send(new CreateBucketCommand({ Bucket: bucket }));
  } finally {
    client.destroy();
  }
}
