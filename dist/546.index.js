export const id = 546;
export const ids = [546];
export const modules = {

/***/ 8546:
/***/ ((__unused_webpack_module, __webpack_exports__, __webpack_require__) => {

__webpack_require__.r(__webpack_exports__);
/* harmony export */ __webpack_require__.d(__webpack_exports__, {
/* harmony export */   createAlarmReader: () => (/* binding */ createAlarmReader)
/* harmony export */ });
/* harmony import */ var _aws_sdk_client_cloudwatch__WEBPACK_IMPORTED_MODULE_1__ = __webpack_require__(4085);
/* harmony import */ var _aws_errors_js__WEBPACK_IMPORTED_MODULE_0__ = __webpack_require__(133);


/** DescribeAlarms takes at most 100 AlarmNames (API reference); inputs.ts keeps to that. */
function createAlarmReader(client) {
    return {
        async states(names) {
            if (names.length === 0)
                return [];
            const found = [];
            let nextToken;
            try {
                do {
                    const answer = await client.send(new _aws_sdk_client_cloudwatch__WEBPACK_IMPORTED_MODULE_1__.DescribeAlarmsCommand({
                        AlarmNames: [...names],
                        // Without AlarmTypes only metric alarms come back (API reference, AlarmTypes).
                        AlarmTypes: ['MetricAlarm', 'CompositeAlarm'],
                        NextToken: nextToken
                    }));
                    for (const alarm of [...(answer.MetricAlarms ?? []), ...(answer.CompositeAlarms ?? [])]) {
                        found.push({
                            name: alarm.AlarmName ?? '',
                            state: alarm.StateValue ?? '',
                            reason: alarm.StateReason ?? ''
                        });
                    }
                    nextToken = answer.NextToken;
                } while (nextToken);
            }
            catch (error) {
                throw (0,_aws_errors_js__WEBPACK_IMPORTED_MODULE_0__/* .explainAwsError */ .Ni)(error, 'cloudwatch:DescribeAlarms', `alarms ${names.join(', ')}`);
            }
            return found;
        }
    };
}


/***/ })

};
