import { INPUTS_DIGEST_LABEL } from './build-inputs.js'

/**
 * Whether an image found under an inputs tag (`inputs-HEX`) may stand for this run's build.
 *
 * The tag alone proves nothing about the image: anyone who may write to the repository
 * (ecr:PutImage) can move a mutable tag onto any image. The image's own config is the record of
 * how it was built: this action writes the inputs digest into it as a label, and the config is
 * content-addressed, so the label read from the registry is the label of the image the tag names.
 * A label can be forged by whoever pushes an image, so this check stops a tag moved by mistake
 * or by a tool, not a principal with push rights: with reuse on, those rights are deploy rights
 * (README, "Unchanged inputs are not rebuilt").
 */

/** Why the image is not an image of these inputs; undefined when its label names them. */
export function inputsLabelMismatch(
  labels: Readonly<Record<string, string>>,
  inputsDigest: string
): string | undefined {
  const label = labels[INPUTS_DIGEST_LABEL]
  if (label === undefined) return `it carries no ${INPUTS_DIGEST_LABEL} label`
  if (label !== inputsDigest) {
    return `its ${INPUTS_DIGEST_LABEL} label is ${label || '(empty)'}, not ${inputsDigest}`
  }
  return undefined
}
