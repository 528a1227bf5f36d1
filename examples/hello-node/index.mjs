// Returns an API Gateway style response built from the event.
export const handler = async (event, context) => ({
  statusCode: 200,
  headers: { 'content-type': 'application/json' },
  body: JSON.stringify({
    message: `Hello, ${event?.name ?? 'world'}!`,
    requestId: context.awsRequestId,
    runtime: `node ${process.version} on ${process.arch}`
  })
})
