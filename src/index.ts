import { run } from './main.js'

// The runner starts this file; everything else lives in main.ts so tests can call run().
await run()
