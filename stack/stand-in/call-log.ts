import type { ServiceName } from './aws-wording.js'

/** One AWS call as the stand-in answered it, for tests that count or order calls. */
export interface CallRecord {
  readonly service: ServiceName
  readonly operation: string
  /** The caller's account; empty when the signature was refused. */
  readonly account: string
  readonly region: string
  readonly status: number
}

export class CallLog {
  private records: CallRecord[] = []

  add(record: CallRecord): void {
    this.records.push(record)
  }

  list(): readonly CallRecord[] {
    return [...this.records]
  }

  clear(): void {
    this.records = []
  }
}
