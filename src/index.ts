import * as core from '@actions/core'
import { handleCancellation } from './adapters/temporary-files.js'
import { describeCrash } from './domain/errors.js'
import { run } from './main.js'

// The runner starts this file; everything else lives in main.ts so tests can call run(). A
// cancelled job must not leave credentials behind, whichever step it was in.
handleCancellation()
try {
  await run()
} catch (error) {
  // run() reports every failure it expects; anything reaching here is a defect. One annotation
  // with the stack, never Node's dump of an uncaught error, which quotes the whole source line it
  // came from: in the minified bundle that line is most of the file. The minifier (ncc's terser
  // settings) keeps function and class names, so the frames still name functions.
  core.setFailed(describeCrash(error))
}
