// The test projects. `unit` never touches Docker or the network. The end-to-end projects drive
// the real engine, registry and AWS stand-in that stack/setup.sh brings up (scripts/test.sh runs
// it first), and say by where a suite lives what it depends on (CONTRIBUTING.md, "How the tests are laid out"):
//   e2e-engine  builds, checks, pushes, loads, runs or reads an image in the engine: runs once per
//               image store, suites in parallel;
//   e2e-serial  the same, but changes something machine-wide (QEMU's binfmt registration, the
//               builder cache, /proc sampling): runs once per image store, one suite at a time;
//   e2e-aws     exercises AWS-side behaviour on images already in the registry: runs once; the
//               action it runs has no Docker engine (__tests__/e2e/harness.ts is the guard).
const tsJest = [
  'ts-jest',
  { useESM: true, tsconfig: 'tsconfig.json', diagnostics: { ignoreCodes: [151002] } }
]

const shared = {
  preset: 'ts-jest/presets/default-esm',
  testEnvironment: 'node',
  extensionsToTreatAsEsm: ['.ts'],
  moduleNameMapper: { '^(\\.{1,2}/.*)\\.js$': '$1' },
  transform: { '^.+\\.ts$': tsJest }
}

const e2e = name => ({
  ...shared,
  displayName: `e2e-${name}`,
  testMatch: [`<rootDir>/__tests__/e2e/${name}/**/*.test.ts`],
  setupFilesAfterEnv: ['<rootDir>/__tests__/e2e/count-assertions.ts']
})

export default {
  // Per-project testTimeout is ignored by jest; builds and waits in e2e tests take seconds.
  testTimeout: 300000,
  projects: [
    { ...shared, displayName: 'unit', testMatch: ['<rootDir>/__tests__/unit/**/*.test.ts'] },
    e2e('engine'),
    e2e('serial'),
    e2e('aws')
  ]
}
