#!/usr/bin/env node
// A minimal Lambda Runtime API for checking the stand-in images (stack/base-images/smoke-test.sh):
// serves EVENT (JSON) once on GET /2018-06-01/runtime/invocation/next, prints the body that the
// runtime POSTs to .../response and exits 0; a POST to .../error or init/error, or no answer
// within TIMEOUT seconds, prints it and exits 1. Later /next calls are held open, as Lambda does
// between invocations. Writes the port it listens on (127.0.0.1, any free port) to PORT_FILE.
//
//   node runtime-api.mjs PORT_FILE EVENT_JSON [TIMEOUT]
import { createServer } from 'node:http'
import { randomUUID } from 'node:crypto'
import { writeFileSync } from 'node:fs'

const [portFile, event = '{}', timeout = '60'] = process.argv.slice(2)
const requestId = randomUUID()
const prefix = '/2018-06-01/runtime'
let served = false

const finish = (code, message) => {
  console.log(message)
  process.exit(code)
}

const server = createServer((req, res) => {
  const chunks = []
  req.on('data', c => chunks.push(c))
  req.on('end', () => {
    const body = Buffer.concat(chunks).toString('utf8')
    const url = req.url ?? ''
    if (req.method === 'GET' && url === `${prefix}/invocation/next`) {
      if (served) return // hold the connection: no second event
      served = true
      res.writeHead(200, {
        'Content-Type': 'application/json',
        'Lambda-Runtime-Aws-Request-Id': requestId,
        'Lambda-Runtime-Deadline-Ms': String(Date.now() + 30000),
        'Lambda-Runtime-Invoked-Function-Arn':
          'arn:aws:lambda:us-east-1:111111111111:function:stand-in-smoke-test',
        'Lambda-Runtime-Trace-Id': 'Root=1-00000000-000000000000000000000000;Sampled=0'
      })
      return res.end(event)
    }
    if (req.method === 'POST' && url === `${prefix}/invocation/${requestId}/response`) {
      res.writeHead(202).end('{"status":"OK"}')
      return finish(0, body)
    }
    if (req.method === 'POST' && (url.endsWith('/error') || url === `${prefix}/init/error`)) {
      res.writeHead(202).end('{"status":"OK"}')
      return finish(1, `runtime reported an error on ${url}: ${body}`)
    }
    res.writeHead(404).end()
  })
})

server.listen(0, '127.0.0.1', () => {
  writeFileSync(portFile, String(server.address().port))
})
setTimeout(() => finish(1, `no response within ${timeout} s`), Number(timeout) * 1000).unref()
