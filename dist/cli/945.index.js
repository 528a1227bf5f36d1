export const id = 945;
export const ids = [945];
export const modules = {

/***/ 9945:
/***/ ((__unused_webpack_module, __webpack_exports__, __webpack_require__) => {

__webpack_require__.r(__webpack_exports__);
/* harmony export */ __webpack_require__.d(__webpack_exports__, {
/* harmony export */   BATCH_GET_IMAGE_LIMIT: () => (/* binding */ BATCH_GET_IMAGE_LIMIT),
/* harmony export */   createImageRetention: () => (/* binding */ createImageRetention)
/* harmony export */ });
/* harmony import */ var _aws_sdk_client_ecr__WEBPACK_IMPORTED_MODULE_1__ = __webpack_require__(8249);
/* harmony import */ var _aws_errors_js__WEBPACK_IMPORTED_MODULE_0__ = __webpack_require__(133);


/** BatchGetImage takes at most 100 image ids (ECR API reference, BatchGetImage, imageIds). */
const BATCH_GET_IMAGE_LIMIT = 100;
/** How often the preview is asked for its status; AWS documents no completion time. */
const PREVIEW_POLL_MS = 1_000;
/** ImageFailure.failureCode for an image the repository does not hold (API reference). */
const IMAGE_NOT_FOUND = 'ImageNotFound';
/** DescribeImages maxResults may be up to 1000 (API reference, DescribeImages). */
const DESCRIBE_IMAGES_PAGE = 1000;
/** Why a bounded preview gave up: its time ran out. */
class PreviewTimeUp extends Error {
}
/**
 * The promise, or a PreviewTimeUp rejection as soon as the signal aborts: a call that hangs (a
 * connection that never answers) ends at the limit, whatever the SDK does with the signal.
 */
function bounded(promise, signal) {
    if (signal.aborted)
        return Promise.reject(new PreviewTimeUp());
    return new Promise((resolve, reject) => {
        const stop = () => reject(new PreviewTimeUp());
        signal.addEventListener('abort', stop, { once: true });
        promise.then(value => {
            signal.removeEventListener('abort', stop);
            resolve(value);
        }, (error) => {
            signal.removeEventListener('abort', stop);
            reject(signal.aborted ? new PreviewTimeUp() : error);
        });
    });
}
function createImageRetention(client, sleep = ms => new Promise(resolve => setTimeout(resolve, ms))) {
    const ids = (repository) => ({
        registryId: repository.account,
        repositoryName: repository.name
    });
    return {
        async missingDigests(repository, digests) {
            const missing = [];
            const unique = [...new Set(digests)];
            for (let start = 0; start < unique.length; start += BATCH_GET_IMAGE_LIMIT) {
                const batch = unique.slice(start, start + BATCH_GET_IMAGE_LIMIT);
                try {
                    const answer = await client.send(new _aws_sdk_client_ecr__WEBPACK_IMPORTED_MODULE_1__.BatchGetImageCommand({
                        ...ids(repository),
                        imageIds: batch.map(imageDigest => ({ imageDigest }))
                    }));
                    for (const failure of answer.failures ?? []) {
                        const digest = failure.imageId?.imageDigest;
                        if (failure.failureCode === IMAGE_NOT_FOUND && digest)
                            missing.push(digest);
                    }
                }
                catch (error) {
                    throw (0,_aws_errors_js__WEBPACK_IMPORTED_MODULE_0__/* .explainAwsError */ .Ni)(error, 'ecr:BatchGetImage', `repository ${repository.uri}`);
                }
            }
            return missing;
        },
        async lifecyclePolicy(repository) {
            try {
                const answer = await client.send(new _aws_sdk_client_ecr__WEBPACK_IMPORTED_MODULE_1__.GetLifecyclePolicyCommand(ids(repository)));
                return answer.lifecyclePolicyText;
            }
            catch (error) {
                if ((0,_aws_errors_js__WEBPACK_IMPORTED_MODULE_0__/* .errorName */ .Is)(error) === 'LifecyclePolicyNotFoundException')
                    return undefined;
                throw (0,_aws_errors_js__WEBPACK_IMPORTED_MODULE_0__/* .explainAwsError */ .Ni)(error, 'ecr:GetLifecyclePolicy', `repository ${repository.uri}`);
            }
        },
        async previewLifecycle(repository, waitMs) {
            // The limit holds for every call, a poll that hangs too: the signal goes to the SDK (which
            // aborts the request) and bounds the wait for its answer.
            const signal = AbortSignal.timeout(Math.max(0, waitMs));
            const deadline = Date.now() + waitMs;
            try {
                try {
                    await bounded(client.send(new _aws_sdk_client_ecr__WEBPACK_IMPORTED_MODULE_1__.StartLifecyclePolicyPreviewCommand(ids(repository)), {
                        abortSignal: signal
                    }), signal);
                }
                catch (error) {
                    // Another preview of this repository is running (another pipeline): its results are
                    // of the same policy, and it is waited for like this one.
                    if (error instanceof PreviewTimeUp)
                        throw error;
                    if ((0,_aws_errors_js__WEBPACK_IMPORTED_MODULE_0__/* .errorName */ .Is)(error) !== 'LifecyclePolicyPreviewInProgressException') {
                        throw (0,_aws_errors_js__WEBPACK_IMPORTED_MODULE_0__/* .explainAwsError */ .Ni)(error, 'ecr:StartLifecyclePolicyPreview', `repository ${repository.uri}`);
                    }
                }
                try {
                    return await previewResults(repository, signal, deadline);
                }
                catch (error) {
                    if (error instanceof PreviewTimeUp)
                        throw error;
                    throw (0,_aws_errors_js__WEBPACK_IMPORTED_MODULE_0__/* .explainAwsError */ .Ni)(error, 'ecr:GetLifecyclePolicyPreview', `repository ${repository.uri}`);
                }
            }
            catch (error) {
                if (error instanceof PreviewTimeUp)
                    return undefined;
                throw error;
            }
        },
        async images(repository) {
            const images = [];
            try {
                let nextToken;
                do {
                    const page = await client.send(new _aws_sdk_client_ecr__WEBPACK_IMPORTED_MODULE_1__.DescribeImagesCommand({
                        ...ids(repository),
                        filter: { imageStatus: 'ANY' },
                        maxResults: DESCRIBE_IMAGES_PAGE,
                        nextToken
                    }));
                    for (const detail of page.imageDetails ?? []) {
                        if (!detail.imageDigest)
                            continue;
                        images.push({
                            digest: detail.imageDigest,
                            tags: detail.imageTags ?? [],
                            status: detail.imageStatus === 'ARCHIVED' || detail.imageStatus === 'ACTIVATING'
                                ? detail.imageStatus
                                : 'ACTIVE',
                            pushedAt: detail.imagePushedAt?.getTime(),
                            lastPulledAt: detail.lastRecordedPullTime?.getTime(),
                            archivedAt: detail.lastArchivedAt?.getTime()
                        });
                    }
                    nextToken = page.nextToken;
                } while (nextToken);
            }
            catch (error) {
                throw (0,_aws_errors_js__WEBPACK_IMPORTED_MODULE_0__/* .explainAwsError */ .Ni)(error, 'ecr:DescribeImages', `repository ${repository.uri}`);
            }
            return images;
        }
    };
    /** GetLifecyclePolicyPreview until COMPLETE, then every page of its results. */
    async function previewResults(repository, signal, deadline) {
        for (;;) {
            const first = await bounded(client.send(new _aws_sdk_client_ecr__WEBPACK_IMPORTED_MODULE_1__.GetLifecyclePolicyPreviewCommand({ ...ids(repository) }), {
                abortSignal: signal
            }), signal);
            if (first.status === 'FAILED' || first.status === 'EXPIRED')
                return undefined;
            if (first.status === 'COMPLETE') {
                const expiring = [];
                let page = first;
                for (;;) {
                    for (const result of page.previewResults ?? []) {
                        const type = result.action?.type;
                        if (!result.imageDigest || (type !== 'EXPIRE' && type !== 'TRANSITION'))
                            continue;
                        expiring.push({
                            digest: result.imageDigest,
                            tags: result.imageTags ?? [],
                            rulePriority: result.appliedRulePriority ?? 0,
                            action: type === 'TRANSITION' ? 'transition' : 'expire'
                        });
                    }
                    if (!page.nextToken)
                        break;
                    page = await bounded(client.send(new _aws_sdk_client_ecr__WEBPACK_IMPORTED_MODULE_1__.GetLifecyclePolicyPreviewCommand({
                        ...ids(repository),
                        nextToken: page.nextToken
                    }), { abortSignal: signal }), signal);
                }
                return { policyText: first.lifecyclePolicyText ?? '', expiring };
            }
            // No poll starts that the limit would cut short anyway.
            if (Date.now() + PREVIEW_POLL_MS > deadline)
                return undefined;
            await bounded(sleep(PREVIEW_POLL_MS), signal);
        }
    }
}


/***/ })

};
