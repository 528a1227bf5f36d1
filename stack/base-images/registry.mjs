#!/usr/bin/env node
// Small OCI distribution (registry v2 HTTP API) client for stack/base-images.sh: no auth, TLS
// trusted through NODE_EXTRA_CA_CERTS. Commands (exit 0 on success, 1 with a reason on stderr):
//
//   check  HOST REPO TAG RECIPE PLATFORM...   the tag is an index whose manifests cover every
//                                             PLATFORM (os/arch) and whose image configs carry
//                                             the label RECIPE_LABEL=RECIPE; prints its digest
//   index  HOST REPO TAG PLATFORM=SRC_TAG...  PUT an index under TAG made of the single-platform
//                                             manifests now under each SRC_TAG; prints its digest
//   digest HOST REPO REF                      prints the digest REF resolves to
import { createHash } from 'node:crypto'

export const RECIPE_LABEL = 'lambda-image-deploy.stand-in.recipe'

const DOCKER_LIST = 'application/vnd.docker.distribution.manifest.list.v2+json'
const DOCKER_MANIFEST = 'application/vnd.docker.distribution.manifest.v2+json'
const OCI_INDEX = 'application/vnd.oci.image.index.v1+json'
const OCI_MANIFEST = 'application/vnd.oci.image.manifest.v1+json'
const ACCEPT = [OCI_INDEX, DOCKER_LIST, OCI_MANIFEST, DOCKER_MANIFEST].join(', ')
const INDEX_TYPES = new Set([OCI_INDEX, DOCKER_LIST])

class Fail extends Error {}

const sha256 = buf => 'sha256:' + createHash('sha256').update(buf).digest('hex')

async function request(host, path, init = {}) {
  const url = `https://${host}/v2/${path}`
  let res
  try {
    res = await fetch(url, init)
  } catch (err) {
    throw new Fail(`${init.method ?? 'GET'} ${url}: ${err.cause?.message ?? err.message}`)
  }
  return res
}

async function getManifest(host, repo, ref) {
  const res = await request(host, `${repo}/manifests/${ref}`, { headers: { Accept: ACCEPT } })
  if (res.status === 404) throw new Fail(`${host}/${repo}:${ref} not found`)
  if (!res.ok) throw new Fail(`GET ${host}/${repo} manifest ${ref}: HTTP ${res.status}`)
  const body = Buffer.from(await res.arrayBuffer())
  const json = JSON.parse(body.toString('utf8'))
  const mediaType = json.mediaType ?? res.headers.get('content-type')?.split(';')[0]
  return { json, mediaType, digest: sha256(body), size: body.length }
}

async function getBlobJson(host, repo, digest) {
  const res = await request(host, `${repo}/blobs/${digest}`)
  if (!res.ok) throw new Fail(`GET ${host}/${repo} blob ${digest}: HTTP ${res.status}`)
  return JSON.parse(Buffer.from(await res.arrayBuffer()).toString('utf8'))
}

const platformOf = p => `${p?.os}/${p?.architecture}`

// The single-platform manifest for `platform` that REF names (directly, or through an index as a
// newer docker with the containerd image store pushes).
async function singleManifest(host, repo, ref, platform) {
  const m = await getManifest(host, repo, ref)
  if (!INDEX_TYPES.has(m.mediaType)) return m
  const entry = m.json.manifests.find(d => platformOf(d.platform) === platform)
  if (!entry) throw new Fail(`${host}/${repo}:${ref} has no ${platform} manifest`)
  return getManifest(host, repo, entry.digest)
}

async function check(host, repo, tag, recipe, platforms) {
  const index = await getManifest(host, repo, tag)
  if (!INDEX_TYPES.has(index.mediaType)) throw new Fail(`${repo}:${tag} is not an index`)
  for (const platform of platforms) {
    const entry = index.json.manifests.find(d => platformOf(d.platform) === platform)
    if (!entry) throw new Fail(`${repo}:${tag} has no ${platform} manifest`)
    const manifest = await getManifest(host, repo, entry.digest)
    const config = await getBlobJson(host, repo, manifest.json.config.digest)
    const found = config.config?.Labels?.[RECIPE_LABEL]
    if (found !== recipe) {
      throw new Fail(`${repo}:${tag} ${platform} was built from recipe ${found ?? '(none)'}`)
    }
    if (platformOf(config) !== platform) {
      throw new Fail(`${repo}:${tag} ${platform} entry's config says ${platformOf(config)}`)
    }
  }
  return index.digest
}

async function putIndex(host, repo, tag, pairs) {
  const manifests = []
  for (const pair of pairs) {
    const [platform, srcTag] = pair.split('=')
    const [os, architecture, variant] = platform.split('/')
    const m = await singleManifest(host, repo, srcTag, `${os}/${architecture}`)
    const config = await getBlobJson(host, repo, m.json.config.digest)
    if (platformOf(config) !== `${os}/${architecture}`) {
      throw new Fail(`${repo}:${srcTag} is ${platformOf(config)}, not ${os}/${architecture}`)
    }
    const p = { architecture, os }
    if (variant ?? config.variant) p.variant = variant ?? config.variant
    manifests.push({ mediaType: m.mediaType, digest: m.digest, size: m.size, platform: p })
  }
  const allOci = manifests.every(d => d.mediaType === OCI_MANIFEST)
  const mediaType = allOci ? OCI_INDEX : DOCKER_LIST
  const body = Buffer.from(JSON.stringify({ schemaVersion: 2, mediaType, manifests }, null, 2))
  const res = await request(host, `${repo}/manifests/${tag}`, {
    method: 'PUT',
    headers: { 'Content-Type': mediaType },
    body
  })
  if (!res.ok) {
    throw new Fail(`PUT ${host}/${repo}:${tag}: HTTP ${res.status} ${await res.text()}`)
  }
  const digest = sha256(body)
  const stored = res.headers.get('docker-content-digest')
  if (stored && stored !== digest) throw new Fail(`registry stored ${stored}, sent ${digest}`)
  return digest
}

async function main([command, host, repo, ...rest]) {
  switch (command) {
    case 'check':
      return check(host, repo, rest[0], rest[1], rest.slice(2))
    case 'index':
      return putIndex(host, repo, rest[0], rest.slice(1))
    case 'digest':
      return (await getManifest(host, repo, rest[0])).digest
    default:
      throw new Fail(`unknown command ${command}`)
  }
}

main(process.argv.slice(2)).then(
  out => console.log(out),
  err => {
    console.error(err instanceof Fail ? err.message : err)
    process.exit(1)
  }
)
