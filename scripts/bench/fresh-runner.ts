import { spawn, type ChildProcess } from 'node:child_process'
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import path from 'node:path'
import { runCommand } from './host-tools.js'
import { startShapingProxy, type LinkShape, type ShapingProxy } from './shaping-proxy.js'

/**
 * What a GitHub-hosted runner's job starts with, rebuilt on this machine for the bench:
 *  - a Docker engine whose store holds no image and no build cache: a dockerd of its own (the
 *    stack's engine binaries) with a new data-root and exec-root, started per run and deleted
 *    after it, with its own containerd;
 *  - registries across a network: the engine, and the action's own registry requests, resolve
 *    the registry host names to shaping relays (shaping-proxy.ts) instead of loopback.
 * Both live in a network and mount namespace of their own (one for the whole bench): a veth pair
 * is the runner's only link to this machine, its /etc/hosts is a copy with the registry names
 * rewritten to relays on that link, and its dockerd makes its bridge there. Nothing else on the
 * machine (the stack's engine and its docker0, the tests) sees a difference: a second dockerd in
 * the host's network namespace deletes or takes over docker0.
 */

export type ImageStore = 'classic' | 'containerd'

export interface RunnerNetwork {
  /** Prefix for a command that runs on the runner (the action, a dockerd). */
  readonly launcher: readonly string[]
  /** The AWS endpoint (an http URL on this machine's loopback) as the runner reaches it. */
  readonly awsEndpoint: string
  readonly shape: LinkShape
  readonly relays: readonly ShapingProxy[]
  close(): Promise<void>
}

export interface FreshEngine {
  /** For DOCKER_HOST. */
  readonly dockerHost: string
  /** Stops the engine and deletes its store. */
  stop(): Promise<void>
}

/** The veth pair between this machine (.1, and the relays from .11) and the runner (.2). */
const HOST_SIDE = 'lidb-host'
const RUNNER_SIDE = 'lidb-runner'
const SUBNET = '10.251.0'
const RELAY_BASE = 11
/** Not shaped here: the recording proxy in front of the stand-in adds the round trip itself. */
const UNSHAPED = { rttMs: 0, bytesPerSecond: 1e12 }

function hostsEntry(hosts: string, name: string): string {
  for (const line of hosts.split('\n')) {
    const [address, ...names] = line.trim().split(/\s+/)
    if (address && !address.startsWith('#') && names.includes(name)) return address
  }
  throw new Error(`/etc/hosts has no address for ${name}: run stack/setup.sh first`)
}

export async function startRunnerNetwork(options: {
  registryHosts: readonly string[]
  /** The AWS endpoint on this machine's loopback, reached from the runner through a relay. */
  awsEndpoint: string
  shape: LinkShape
  workDir: string
}): Promise<RunnerNetwork> {
  const hosts = readFileSync('/etc/hosts', 'utf8')
  const hostsFile = path.join(options.workDir, 'runner-hosts')
  const relayAddress = (index: number) => `${SUBNET}.${RELAY_BASE + index}`
  const kept = hosts
    .split('\n')
    .filter(line => !options.registryHosts.some(host => line.trim().split(/\s+/).includes(host)))
  const rewritten = options.registryHosts.map((host, index) => `${relayAddress(index)} ${host}`)
  writeFileSync(hostsFile, [...kept, ...rewritten, ''].join('\n'))

  // The namespaces live as long as this process: the other commands join them with nsenter.
  const holder = spawn(
    'unshare',
    [
      '--mount',
      '--net',
      '--propagation',
      'private',
      'sh',
      '-c',
      `mount --bind '${hostsFile}' /etc/hosts && ip link set lo up && exec sleep 86400`
    ],
    { stdio: 'ignore' }
  )
  const launcher = [
    'nsenter',
    `--mount=/proc/${holder.pid}/ns/mnt`,
    `--net=/proc/${holder.pid}/ns/net`,
    '--'
  ]
  const relays: ShapingProxy[] = []
  const close = async () => {
    holder.kill('SIGKILL')
    await Promise.all(relays.map(relay => relay.close()))
    await runCommand('ip', ['link', 'delete', HOST_SIDE])
  }
  try {
    await waitForHostsMount(launcher, holder, hostsFile)
    await linkRunner(holder.pid!, options.registryHosts.length)
    for (const [index, host] of options.registryHosts.entries()) {
      relays.push(
        await startShapingProxy({
          listen: { host: relayAddress(index), port: 443 },
          target: { host: hostsEntry(hosts, host), port: 443 },
          shape: options.shape
        })
      )
    }
    const aws = new URL(options.awsEndpoint)
    relays.push(
      await startShapingProxy({
        listen: { host: `${SUBNET}.1`, port: Number(aws.port) },
        target: { host: aws.hostname, port: Number(aws.port) },
        shape: UNSHAPED
      })
    )
    return {
      launcher,
      awsEndpoint: `http://${SUBNET}.1:${aws.port}`,
      shape: options.shape,
      relays,
      close
    }
  } catch (error) {
    await close()
    throw error
  }
}

async function waitForHostsMount(
  launcher: readonly string[],
  holder: ChildProcess,
  hostsFile: string
): Promise<void> {
  const wanted = readFileSync(hostsFile, 'utf8')
  for (let attempt = 0; attempt < 100; attempt += 1) {
    if (holder.exitCode !== null) throw new Error('unshare --mount --net failed: is this root?')
    const seen = await runCommand(launcher[0]!, [...launcher.slice(1), 'cat', '/etc/hosts'])
    if (seen.exitCode === 0 && seen.stdout === wanted) return
    await new Promise(resolve => setTimeout(resolve, 50))
  }
  throw new Error('the runner namespace never saw its hosts file')
}

/** The veth pair: this machine's end holds .1 and the relay addresses, the runner's end .2. */
async function linkRunner(holderPid: number, relayCount: number): Promise<void> {
  await runCommand('ip', ['link', 'delete', HOST_SIDE])
  const steps: string[][] = [
    ['link', 'add', HOST_SIDE, 'type', 'veth', 'peer', 'name', RUNNER_SIDE],
    ['link', 'set', RUNNER_SIDE, 'netns', String(holderPid)],
    ['addr', 'add', `${SUBNET}.1/24`, 'dev', HOST_SIDE],
    ...Array.from({ length: relayCount }, (_, index) => [
      'addr',
      'add',
      `${SUBNET}.${RELAY_BASE + index}/32`,
      'dev',
      HOST_SIDE
    ]),
    ['link', 'set', HOST_SIDE, 'up'],
    ['runner', 'addr', 'add', `${SUBNET}.2/24`, 'dev', RUNNER_SIDE],
    ['runner', 'link', 'set', RUNNER_SIDE, 'up']
  ]
  for (const step of steps) {
    const [command, args] =
      step[0] === 'runner'
        ? ['nsenter', [`--net=/proc/${holderPid}/ns/net`, 'ip', ...step.slice(1)]]
        : ['ip', step]
    const done = await runCommand(command, args)
    if (done.exitCode !== 0) throw new Error(`ip ${args.join(' ')}: ${done.stderr.trim()}`)
  }
}

let engines = 0

/** A dockerd with an empty store, as the first docker command of a job on a new runner finds. */
export async function startFreshEngine(
  network: RunnerNetwork,
  options: { store: ImageStore; engineBin: string; workDir: string }
): Promise<FreshEngine> {
  engines += 1
  const dataRoot = mkdtempSync(path.join(options.workDir, 'engine-'))
  // Unix socket paths are limited to 108 bytes: the exec-root stays short.
  const execRoot = `/run/lid-bench-${process.pid}-${engines}`
  mkdirSync(execRoot, { recursive: true })
  const socket = path.join(execRoot, 'docker.sock')
  const config = path.join(dataRoot, 'daemon.json')
  writeFileSync(
    config,
    JSON.stringify({
      'data-root': path.join(dataRoot, 'data'),
      'exec-root': execRoot,
      pidfile: path.join(execRoot, 'docker.pid'),
      hosts: [`unix://${socket}`],
      // The runner's own docker0, inside its network namespace. No NAT: RUN steps need none.
      iptables: false,
      ip6tables: false,
      features: { 'containerd-snapshotter': options.store === 'containerd' }
    })
  )
  const dockerd = spawn(
    network.launcher[0]!,
    [
      ...network.launcher.slice(1),
      path.join(options.engineBin, 'dockerd'),
      '--config-file',
      config
    ],
    {
      env: { ...process.env, PATH: `${options.engineBin}:${process.env.PATH ?? '/usr/bin:/bin'}` },
      stdio: ['ignore', 'ignore', 'pipe']
    }
  )
  let log = ''
  dockerd.stderr.on('data', (chunk: Buffer) => (log = (log + chunk.toString()).slice(-4000)))
  const dockerHost = `unix://${socket}`
  for (let attempt = 0; ; attempt += 1) {
    const answer = await runCommand('docker', [
      '-H',
      dockerHost,
      'version',
      '--format',
      '{{.Server.Version}}'
    ])
    if (answer.exitCode === 0) break
    if (dockerd.exitCode !== null || attempt > 120) {
      dockerd.kill('SIGKILL')
      throw new Error(`a fresh dockerd did not start:\n${log}`)
    }
    await new Promise(resolve => setTimeout(resolve, 250))
  }
  return {
    dockerHost,
    stop: async () => {
      const exited = new Promise(resolve => dockerd.once('exit', resolve))
      dockerd.kill('SIGTERM')
      const timer = setTimeout(() => dockerd.kill('SIGKILL'), 30_000)
      await exited
      clearTimeout(timer)
      // Mounts the engine left behind (in the runner namespace) would keep its store busy.
      await runCommand(network.launcher[0]!, [
        ...network.launcher.slice(1),
        'sh',
        '-c',
        `grep -o ' ${dataRoot}[^ ]*' /proc/mounts | sort -r | xargs -r -n1 umount -l`
      ])
      rmSync(dataRoot, { recursive: true, force: true })
      rmSync(execRoot, { recursive: true, force: true })
    }
  }
}
