/**
 * The OCI annotation keys the action writes as image labels and reads back from deployed images
 * (https://github.com/opencontainers/image-spec/blob/main/annotations.md).
 */
export const SOURCE_LABEL = 'org.opencontainers.image.source'
export const REVISION_LABEL = 'org.opencontainers.image.revision'
export const CREATED_LABEL = 'org.opencontainers.image.created'
/** The final stage's external base image, fully qualified. */
export const BASE_IMAGE_NAME_LABEL = 'org.opencontainers.image.base.name'
/** The digest of the base's platform manifest the image was built on. */
export const BASE_IMAGE_DIGEST_LABEL = 'org.opencontainers.image.base.digest'
