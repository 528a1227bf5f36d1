import { handleCancellation } from './adapters/temporary-files.js'
import { run } from './main.js'

// The runner starts this file; everything else lives in main.ts so tests can call run(). A
// cancelled job must not leave credentials behind, whichever step it was in.
handleCancellation()
await run()
