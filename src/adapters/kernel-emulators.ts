import { readdirSync, readFileSync } from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { parseBinfmtEntry, type BinfmtEntry, type KernelEmulators } from '../domain/emulation.js'

/** Where the kernel shows its binfmt_misc registrations (https://docs.kernel.org/admin-guide/binfmt-misc.html). */
export const BINFMT_MISC_DIR = '/proc/sys/fs/binfmt_misc'

/**
 * The binfmt_misc registrations of the kernel the engine runs containers on, when that kernel is
 * this machine's: the engine listens on a local socket and reports this machine's kernel
 * release. Undefined otherwise (a tcp:// or ssh:// engine, Docker Desktop's VM, no binfmt_misc
 * mounted): then this machine's /proc says nothing about what the engine can run.
 */
export function readKernelEmulators(
  engine: { readonly endpoint: string; readonly kernelVersion: string },
  dir: string = BINFMT_MISC_DIR
): KernelEmulators | undefined {
  if (!engine.endpoint.startsWith('unix://') || engine.kernelVersion !== os.release()) {
    return undefined
  }
  let status: string
  let names: string[]
  try {
    status = readFileSync(path.join(dir, 'status'), 'utf8').trim()
    names = readdirSync(dir)
  } catch {
    return undefined
  }
  const entries = names.flatMap((name): BinfmtEntry[] => {
    if (name === 'status' || name === 'register') return []
    try {
      const entry = parseBinfmtEntry(name, readFileSync(path.join(dir, name), 'utf8'))
      return entry === undefined ? [] : [entry]
    } catch {
      return [] // removed while being read
    }
  })
  return { enabled: status === 'enabled', entries }
}
