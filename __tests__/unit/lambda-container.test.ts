import { describe, expect, it } from '@jest/globals'
import {
  containerEnvironment,
  lambdaContainerArguments,
  type LambdaContainerSpec
} from '../../src/domain/lambda-container.js'

const spec: LambdaContainerSpec = {
  image: 'sha256:abc',
  facts: {
    os: 'linux',
    architecture: 'arm64',
    variant: 'v8',
    entrypoint: ['/lambda-entrypoint.sh'],
    cmd: ['index.handler'],
    env: ['PATH=/usr/bin', 'LAMBDA_TASK_ROOT=/srv/task'],
    workingDir: '/srv/task'
  },
  function: {
    name: 'orders',
    arn: 'arn:aws:lambda:eu-west-1:111111111111:function:orders',
    region: 'eu-west-1',
    memoryMb: 512,
    timeoutSeconds: 30
  },
  runtimeApi: '172.18.0.1:40000',
  network: 'lambda-smoke-1',
  now: new Date('2026-03-04T05:06:07Z'),
  streamId: '0123456789abcdef0123456789abcdef',
  envFile: '/runner/temp/lambda-image-deploy-smoke-env-x/env'
}

/** Every variable the container gets: the env file's lines and those passed by name. */
function environment(of: LambdaContainerSpec): Record<string, string> {
  const { file, byName } = containerEnvironment(of)
  const fromFile = file
    .split('\n')
    .filter(line => line !== '')
    .map((line): [string, string] => [
      line.slice(0, line.indexOf('=')),
      line.slice(line.indexOf('=') + 1)
    ])
  return { ...Object.fromEntries(fromFile), ...byName }
}

describe('lambdaContainerArguments', () => {
  it('runs the image read-only, as uid 993:990 without capabilities, with a 512 MB /tmp', () => {
    const args = lambdaContainerArguments(spec)
    expect(args.slice(0, 11)).toEqual([
      '--pull=never',
      '--platform=linux/arm64/v8',
      '--network=lambda-smoke-1',
      '--read-only',
      '--tmpfs=/tmp:rw,exec,nosuid,nodev,size=512m,mode=1777',
      '--user=993:990',
      '--cap-drop=ALL',
      '--security-opt=no-new-privileges',
      '--memory=512m',
      '--memory-swap=512m',
      '--ulimit=nofile=1024:1024'
    ])
  })

  it('publishes no port', () => {
    const args = lambdaContainerArguments(spec)
    expect(args.some(arg => /^(-p|--publish)/.test(arg))).toBe(false)
  })

  it('sizes /tmp after the function ephemeral storage', () => {
    const args = lambdaContainerArguments({
      ...spec,
      function: { ...spec.function, ephemeralStorageMb: 2048 }
    })
    expect(args).toContain('--tmpfs=/tmp:rw,exec,nosuid,nodev,size=2048m,mode=1777')
  })

  it('sets the variables Lambda defines, the task root from the image', () => {
    expect(environment(spec)).toEqual({
      AWS_LAMBDA_FUNCTION_NAME: 'orders',
      AWS_LAMBDA_FUNCTION_VERSION: '$LATEST',
      AWS_LAMBDA_FUNCTION_MEMORY_SIZE: '512',
      AWS_LAMBDA_INITIALIZATION_TYPE: 'on-demand',
      AWS_LAMBDA_LOG_GROUP_NAME: '/aws/lambda/orders',
      AWS_LAMBDA_LOG_STREAM_NAME: '2026/03/04/[$LATEST]0123456789abcdef0123456789abcdef',
      AWS_REGION: 'eu-west-1',
      AWS_DEFAULT_REGION: 'eu-west-1',
      LAMBDA_TASK_ROOT: '/srv/task',
      LAMBDA_RUNTIME_DIR: '/var/runtime',
      TZ: ':UTC',
      AWS_LAMBDA_RUNTIME_API: '172.18.0.1:40000',
      _HANDLER: 'index.handler'
    })
  })

  it('passes no AWS credentials', () => {
    const names = Object.keys(environment(spec))
    expect(names.filter(name => /KEY|TOKEN|SECRET/.test(name))).toEqual([])
  })

  it("runs the image's entrypoint with its CMD, the CMD's first word as _HANDLER", () => {
    const args = lambdaContainerArguments(spec)
    expect(args.slice(-3)).toEqual([
      '--entrypoint=/lambda-entrypoint.sh',
      'sha256:abc',
      'index.handler'
    ])
  })

  it('applies ImageConfig overrides: entrypoint with arguments, command, working directory', () => {
    const withOverrides: LambdaContainerSpec = {
      ...spec,
      function: {
        ...spec.function,
        overrides: {
          entryPoint: ['/usr/bin/node', '/ric/index.mjs'],
          command: ['admin.handler'],
          workingDirectory: '/app',
          environment: { MODE: 'admin' }
        }
      }
    }
    const args = lambdaContainerArguments(withOverrides)
    expect(args.slice(-5)).toEqual([
      '--workdir=/app',
      '--entrypoint=/usr/bin/node',
      'sha256:abc',
      '/ric/index.mjs',
      'admin.handler'
    ])
    const env = environment(withOverrides)
    expect(env._HANDLER).toBe('admin.handler')
    expect(env.MODE).toBe('admin')
  })

  it('passes an image without entrypoint its command alone', () => {
    const args = lambdaContainerArguments({
      ...spec,
      facts: { ...spec.facts, entrypoint: [], cmd: ['/app/server'] }
    })
    expect(args.some(arg => arg.startsWith('--entrypoint'))).toBe(false)
    expect(args.slice(-2)).toEqual(['sha256:abc', '/app/server'])
  })

  it('clears the entrypoint when the override is an empty list', () => {
    const args = lambdaContainerArguments({
      ...spec,
      function: { ...spec.function, overrides: { entryPoint: [] } }
    })
    expect(args.slice(-3)).toEqual(['--entrypoint=', 'sha256:abc', 'index.handler'])
  })

  it('defaults the task root and runtime dir when the image does not set them', () => {
    const env = environment({ ...spec, facts: { ...spec.facts, env: [] } })
    expect([env.LAMBDA_TASK_ROOT, env.LAMBDA_RUNTIME_DIR]).toEqual(['/var/task', '/var/runtime'])
  })

  it('puts no variable value on the command line, only the env file', () => {
    const secret = { ...spec.function, overrides: { environment: { TOKEN: 'hunter2-secret' } } }
    const args = lambdaContainerArguments({ ...spec, function: secret })
    expect(args.join(' ')).not.toContain('hunter2-secret')
    expect(args).toContain(`--env-file=${spec.envFile}`)
    expect(args).not.toContain('--env')
    expect(containerEnvironment({ ...spec, function: secret }).file).toContain(
      'TOKEN=hunter2-secret\n'
    )
  })

  it('passes a value with a line break by name, its value only in docker’s environment', () => {
    const pem = '-----BEGIN KEY-----\nc2VjcmV0LWtleQ\n-----END KEY-----'
    const fn = { ...spec.function, overrides: { environment: { SIGNING_KEY: pem } } }
    const args = lambdaContainerArguments({ ...spec, function: fn })
    expect(args.join(' ')).not.toContain('c2VjcmV0LWtleQ')
    expect(args.slice(args.indexOf('--env'), args.indexOf('--env') + 2)).toEqual([
      '--env',
      'SIGNING_KEY'
    ])
    const { file, byName } = containerEnvironment({ ...spec, function: fn })
    expect(byName).toEqual({ SIGNING_KEY: pem })
    expect(file).not.toContain('SIGNING_KEY')
  })

  it.each(['DOCKER_HOST', 'HTTPS_PROXY', 'no_proxy', 'PATH', 'HOME', 'TMPDIR'])(
    'refuses to pass %s by name: the docker CLI reads it',
    name => {
      const fn = { ...spec.function, overrides: { environment: { [name]: 'a\nb' } } }
      expect(() => containerEnvironment({ ...spec, function: fn })).toThrow(
        expect.objectContaining({ id: 'smoke-test-variable-not-passable' })
      )
    }
  )
})
