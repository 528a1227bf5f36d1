export const id = 923;
export const ids = [923];
export const modules = {

/***/ 5923:
/***/ ((__unused_webpack_module, __webpack_exports__, __webpack_require__) => {

__webpack_require__.r(__webpack_exports__);
/* harmony export */ __webpack_require__.d(__webpack_exports__, {
/* harmony export */   assumedRoleCredentials: () => (/* binding */ assumedRoleCredentials),
/* harmony export */   callerAccount: () => (/* binding */ callerAccount)
/* harmony export */ });
/* harmony import */ var _aws_sdk_client_sts__WEBPACK_IMPORTED_MODULE_2__ = __webpack_require__(1695);
/* harmony import */ var _domain_errors_js__WEBPACK_IMPORTED_MODULE_0__ = __webpack_require__(241);
/* harmony import */ var _aws_errors_js__WEBPACK_IMPORTED_MODULE_1__ = __webpack_require__(133);



/**
 * Credentials for another account's functions: the workflow's own credentials assume a role in
 * that account (the usual cross-account deploy set-up). Refreshed before they expire.
 */
function assumedRoleCredentials(sts, roleArn, sessionName) {
    let current;
    // Clients that ask at the same time share one AssumeRole call.
    let pending;
    return async () => {
        const expiresSoon = current?.expiration !== undefined && current.expiration.getTime() - Date.now() < 5 * 60_000;
        if (current && !expiresSoon)
            return current;
        pending ??= assume().finally(() => {
            pending = undefined;
        });
        return await pending;
    };
    async function assume() {
        try {
            const answer = await sts.send(new _aws_sdk_client_sts__WEBPACK_IMPORTED_MODULE_2__.AssumeRoleCommand({ RoleArn: roleArn, RoleSessionName: sessionName }));
            const credentials = answer.Credentials;
            if (!credentials?.AccessKeyId || !credentials.SecretAccessKey) {
                throw new Error('AssumeRole returned no credentials');
            }
            current = {
                accessKeyId: credentials.AccessKeyId,
                secretAccessKey: credentials.SecretAccessKey,
                sessionToken: credentials.SessionToken,
                expiration: credentials.Expiration
            };
            return current;
        }
        catch (error) {
            const explained = (0,_aws_errors_js__WEBPACK_IMPORTED_MODULE_1__/* .explainAwsError */ .Ni)(error, 'sts:AssumeRole', `role ${roleArn}`);
            if (explained instanceof _domain_errors_js__WEBPACK_IMPORTED_MODULE_0__/* .ActionError */ .lZ) {
                throw new _domain_errors_js__WEBPACK_IMPORTED_MODULE_0__/* .ActionError */ .lZ('cross-account-role-refused', explained.reason, `Let the workflow's role assume ${roleArn} (its trust policy must name the workflow's role), or fix cross-account-role.`);
            }
            throw explained;
        }
    }
}
async function callerAccount(sts) {
    try {
        const answer = await sts.send(new _aws_sdk_client_sts__WEBPACK_IMPORTED_MODULE_2__.GetCallerIdentityCommand({}));
        return answer.Account ?? '';
    }
    catch (error) {
        throw (0,_aws_errors_js__WEBPACK_IMPORTED_MODULE_1__/* .explainAwsError */ .Ni)(error, 'sts:GetCallerIdentity', 'the workflow credentials');
    }
}


/***/ })

};
