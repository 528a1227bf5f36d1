export const id = 514;
export const ids = [514];
export const modules = {

/***/ 8514:
/***/ ((__unused_webpack_module, __webpack_exports__, __webpack_require__) => {

__webpack_require__.r(__webpack_exports__);
/* harmony export */ __webpack_require__.d(__webpack_exports__, {
/* harmony export */   createContainerRegistry: () => (/* binding */ createContainerRegistry),
/* harmony export */   repositoryMissing: () => (/* binding */ repositoryMissing)
/* harmony export */ });
/* harmony import */ var _aws_sdk_client_ecr__WEBPACK_IMPORTED_MODULE_5__ = __webpack_require__(8249);
/* harmony import */ var _domain_aws_names_js__WEBPACK_IMPORTED_MODULE_0__ = __webpack_require__(3028);
/* harmony import */ var _domain_errors_js__WEBPACK_IMPORTED_MODULE_1__ = __webpack_require__(241);
/* harmony import */ var _domain_lambda_limits_js__WEBPACK_IMPORTED_MODULE_2__ = __webpack_require__(8894);
/* harmony import */ var _domain_tag_mutability_js__WEBPACK_IMPORTED_MODULE_3__ = __webpack_require__(7721);
/* harmony import */ var _aws_errors_js__WEBPACK_IMPORTED_MODULE_4__ = __webpack_require__(133);






/** What a missing repository's error says, wherever it is found missing. */
function repositoryMissing(name, account, region) {
    return new _domain_errors_js__WEBPACK_IMPORTED_MODULE_1__/* .ActionError */ .lZ('repository-not-found', `There is no ECR repository "${name}" in account ${account}, region ${region}.`, `Set create-repository: true to have the action create it (opt-in; scan on push), create it yourself (aws ecr create-repository --repository-name ${name} --region ${region}), or check the repository input.`);
}
const MISSING_REPOSITORY = 'missing';
/** Ask for every manifest type so that an index is reported as one, not as "missing". */
const ANY_MANIFEST_TYPE = [
    _domain_lambda_limits_js__WEBPACK_IMPORTED_MODULE_2__/* .DOCKER_MANIFEST_V2 */ .Yv,
    _domain_lambda_limits_js__WEBPACK_IMPORTED_MODULE_2__/* .OCI_IMAGE_MANIFEST */ .au,
    _domain_lambda_limits_js__WEBPACK_IMPORTED_MODULE_2__/* .DOCKER_MANIFEST_LIST */ .m6,
    _domain_lambda_limits_js__WEBPACK_IMPORTED_MODULE_2__/* .OCI_IMAGE_INDEX */ .f4
];
function createContainerRegistry(client) {
    // A token is valid for 12 hours and covers the whole registry: the push, the base image and
    // the deployed image's config share one GetAuthorizationToken per account.
    const tokens = new Map();
    const fetchToken = async (repository) => {
        try {
            const answer = await client.send(new _aws_sdk_client_ecr__WEBPACK_IMPORTED_MODULE_5__.GetAuthorizationTokenCommand({ registryIds: [repository.account] }));
            const token = answer.authorizationData?.[0]?.authorizationToken;
            if (!token) {
                throw new _domain_errors_js__WEBPACK_IMPORTED_MODULE_1__/* .ActionError */ .lZ('registry-token-missing', `ECR answered GetAuthorizationToken for ${repository.registry} without a token.`, 'Check that AWS_ENDPOINT_URL_ECR (if set) points at Amazon ECR, and run again.');
            }
            const decoded = Buffer.from(token, 'base64').toString('utf8');
            const colon = decoded.indexOf(':');
            return { username: decoded.slice(0, colon), password: decoded.slice(colon + 1) };
        }
        catch (error) {
            throw (0,_aws_errors_js__WEBPACK_IMPORTED_MODULE_4__/* .explainAwsError */ .Ni)(error, 'ecr:GetAuthorizationToken', `registry ${repository.registry}`);
        }
    };
    // One DescribeRepositories per repository and run: finding a named repository, checking that it
    // exists (create-repository) and reading its tag mutability all take the same answer. Only this
    // run's CreateRepository changes what the answer would be; a failed call is not remembered.
    const descriptions = new Map();
    const describe = (account, name) => {
        const key = `${account}/${name}`;
        let description = descriptions.get(key);
        if (!description) {
            description = client
                .send(new _aws_sdk_client_ecr__WEBPACK_IMPORTED_MODULE_5__.DescribeRepositoriesCommand({ registryId: account, repositoryNames: [name] }))
                .then(answer => ({ repository: answer.repositories?.[0] }), (error) => {
                if ((0,_aws_errors_js__WEBPACK_IMPORTED_MODULE_4__/* .errorName */ .Is)(error) === 'RepositoryNotFoundException')
                    return MISSING_REPOSITORY;
                throw error;
            });
            description.catch(() => descriptions.delete(key));
            descriptions.set(key, description);
        }
        return description;
    };
    return {
        async findRepository(account, name) {
            try {
                const description = await describe(account, name);
                if (description === MISSING_REPOSITORY) {
                    throw repositoryMissing(name, account, await client.config.region());
                }
                const found = description.repository;
                if (!found?.repositoryUri) {
                    throw new _domain_errors_js__WEBPACK_IMPORTED_MODULE_1__/* .ActionError */ .lZ('repository-not-found', `ECR answered DescribeRepositories for "${name}" in account ${account} without the repository.`, 'Check the repository name, or give the full repository URI; if AWS_ENDPOINT_URL_ECR is set, check that it points at Amazon ECR.');
                }
                const region = await client.config.region();
                return (0,_domain_aws_names_js__WEBPACK_IMPORTED_MODULE_0__/* .repositoryLocation */ .mP)(found.registryId ?? account, region, name);
            }
            catch (error) {
                if (error instanceof _domain_errors_js__WEBPACK_IMPORTED_MODULE_1__/* .ActionError */ .lZ)
                    throw error;
                throw (0,_aws_errors_js__WEBPACK_IMPORTED_MODULE_4__/* .explainAwsError */ .Ni)(error, 'ecr:DescribeRepositories', `repository ${name}`);
            }
        },
        async tagMutability(repository) {
            let description;
            try {
                description = await describe(repository.account, repository.name);
            }
            catch (error) {
                throw (0,_aws_errors_js__WEBPACK_IMPORTED_MODULE_4__/* .explainAwsError */ .Ni)(error, 'ecr:DescribeRepositories', `repository ${repository.uri}`);
            }
            if (description === MISSING_REPOSITORY) {
                throw repositoryMissing(repository.name, repository.account, repository.region);
            }
            const found = description.repository;
            if (!found)
                return _domain_tag_mutability_js__WEBPACK_IMPORTED_MODULE_3__/* .MUTABLE_TAGS */ .Vl;
            return (0,_domain_tag_mutability_js__WEBPACK_IMPORTED_MODULE_3__/* .tagMutabilityOf */ .u3)(found.imageTagMutability, (found.imageTagMutabilityExclusionFilters ?? []).flatMap(f => f.filter ?? []));
        },
        async repositoryExists(repository) {
            try {
                return (await describe(repository.account, repository.name)) !== MISSING_REPOSITORY;
            }
            catch (error) {
                throw (0,_aws_errors_js__WEBPACK_IMPORTED_MODULE_4__/* .explainAwsError */ .Ni)(error, 'ecr:DescribeRepositories', `repository ${repository.uri}`);
            }
        },
        async createRepository(repository, tagMutability) {
            const key = `${repository.account}/${repository.name}`;
            try {
                const answer = await client.send(new _aws_sdk_client_ecr__WEBPACK_IMPORTED_MODULE_5__.CreateRepositoryCommand({
                    registryId: repository.account,
                    repositoryName: repository.name,
                    imageTagMutability: tagMutability,
                    imageScanningConfiguration: { scanOnPush: true }
                }));
                // The repository as created is the description later reads take.
                if (answer.repository) {
                    descriptions.set(key, Promise.resolve({ repository: answer.repository }));
                }
                else
                    descriptions.delete(key);
            }
            catch (error) {
                // Created meanwhile (another run): it is there, which is all this step wants; its
                // settings are that run's, so they are read again when needed.
                if ((0,_aws_errors_js__WEBPACK_IMPORTED_MODULE_4__/* .errorName */ .Is)(error) === 'RepositoryAlreadyExistsException') {
                    descriptions.delete(key);
                    return;
                }
                throw (0,_aws_errors_js__WEBPACK_IMPORTED_MODULE_4__/* .explainAwsError */ .Ni)(error, 'ecr:CreateRepository', `repository ${repository.uri}`);
            }
        },
        authorization(repository) {
            let token = tokens.get(repository.account);
            if (!token) {
                token = fetchToken(repository);
                // A failed call is not remembered: a retry of the step's work may succeed.
                token.catch(() => tokens.delete(repository.account));
                tokens.set(repository.account, token);
            }
            return token;
        },
        async manifest(repository, reference) {
            const digest = reference;
            try {
                const answer = await client.send(new _aws_sdk_client_ecr__WEBPACK_IMPORTED_MODULE_5__.BatchGetImageCommand({
                    registryId: repository.account,
                    repositoryName: repository.name,
                    imageIds: [
                        reference.startsWith('sha256:') ? { imageDigest: reference } : { imageTag: reference }
                    ],
                    acceptedMediaTypes: ANY_MANIFEST_TYPE
                }));
                const image = answer.images?.[0];
                if (!image?.imageManifest) {
                    const failure = answer.failures?.[0];
                    throw new _domain_errors_js__WEBPACK_IMPORTED_MODULE_1__/* .ActionError */ .lZ('pushed-image-missing', `ECR does not return the pushed image ${repository.uri}@${digest} (${failure?.failureCode ?? 'no image'}: ${failure?.failureReason ?? ''}).`, 'Check the push output above; the repository may have a lifecycle rule or tag immutability that removed or refused it.');
                }
                return {
                    digest: image.imageId?.imageDigest ?? digest,
                    mediaType: image.imageManifestMediaType ?? mediaTypeOf(image.imageManifest),
                    body: image.imageManifest
                };
            }
            catch (error) {
                throw (0,_aws_errors_js__WEBPACK_IMPORTED_MODULE_4__/* .explainAwsError */ .Ni)(error, 'ecr:BatchGetImage', `repository ${repository.uri}`);
            }
        },
        async findTagged(repository, tag) {
            try {
                const answer = await client.send(new _aws_sdk_client_ecr__WEBPACK_IMPORTED_MODULE_5__.BatchGetImageCommand({
                    registryId: repository.account,
                    repositoryName: repository.name,
                    imageIds: [{ imageTag: tag }],
                    acceptedMediaTypes: ANY_MANIFEST_TYPE
                }));
                const image = answer.images?.[0];
                if (!image?.imageManifest)
                    return undefined;
                return {
                    digest: image.imageId?.imageDigest ?? '',
                    mediaType: image.imageManifestMediaType ?? mediaTypeOf(image.imageManifest),
                    body: image.imageManifest
                };
            }
            catch (error) {
                throw (0,_aws_errors_js__WEBPACK_IMPORTED_MODULE_4__/* .explainAwsError */ .Ni)(error, 'ecr:BatchGetImage', `repository ${repository.uri}`);
            }
        },
        async tagImage(repository, manifest, tag) {
            try {
                await client.send(new _aws_sdk_client_ecr__WEBPACK_IMPORTED_MODULE_5__.PutImageCommand({
                    registryId: repository.account,
                    repositoryName: repository.name,
                    imageManifest: manifest.body,
                    imageManifestMediaType: manifest.mediaType,
                    imageDigest: manifest.digest,
                    imageTag: tag
                }));
            }
            catch (error) {
                // The tag names this manifest already: nothing to change.
                if ((0,_aws_errors_js__WEBPACK_IMPORTED_MODULE_4__/* .errorName */ .Is)(error) === 'ImageAlreadyExistsException')
                    return;
                if ((0,_aws_errors_js__WEBPACK_IMPORTED_MODULE_4__/* .errorName */ .Is)(error) === 'ImageTagAlreadyExistsException') {
                    throw new _domain_errors_js__WEBPACK_IMPORTED_MODULE_1__/* .ActionError */ .lZ('image-tag-immutable', `${repository.uri}:${tag} names another image, and the repository's tags are immutable, so it cannot be moved to ${manifest.digest}.`, "Use tags that are new on every run (e.g. the commit SHA), add an exclusion filter for the tags that move (IMMUTABLE_WITH_EXCLUSION), or make the repository's tags mutable.");
                }
                throw (0,_aws_errors_js__WEBPACK_IMPORTED_MODULE_4__/* .explainAwsError */ .Ni)(error, 'ecr:PutImage', `repository ${repository.uri}`);
            }
        },
        async policy(repository) {
            try {
                const answer = await client.send(new _aws_sdk_client_ecr__WEBPACK_IMPORTED_MODULE_5__.GetRepositoryPolicyCommand({
                    registryId: repository.account,
                    repositoryName: repository.name
                }));
                return answer.policyText;
            }
            catch (error) {
                if ((0,_aws_errors_js__WEBPACK_IMPORTED_MODULE_4__/* .errorName */ .Is)(error) === 'RepositoryPolicyNotFoundException')
                    return undefined;
                throw (0,_aws_errors_js__WEBPACK_IMPORTED_MODULE_4__/* .explainAwsError */ .Ni)(error, 'ecr:GetRepositoryPolicy', `repository ${repository.uri}`);
            }
        },
        async setPolicy(repository, text) {
            try {
                await client.send(new _aws_sdk_client_ecr__WEBPACK_IMPORTED_MODULE_5__.SetRepositoryPolicyCommand({
                    registryId: repository.account,
                    repositoryName: repository.name,
                    policyText: text
                }));
            }
            catch (error) {
                throw (0,_aws_errors_js__WEBPACK_IMPORTED_MODULE_4__/* .explainAwsError */ .Ni)(error, 'ecr:SetRepositoryPolicy', `repository ${repository.uri}`);
            }
        }
    };
}
function mediaTypeOf(manifest) {
    try {
        return JSON.parse(manifest).mediaType ?? '';
    }
    catch {
        return '';
    }
}


/***/ })

};
