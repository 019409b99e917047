//! API errors with the real SQS/SNS error codes. Only bad input is an error; what happens to a
//! message (duplicate, expiry, DLQ move) is a `BrokerEvent`, never an `Err`.

use std::fmt;

use serde::Serialize;

/// The error code SQS or SNS would return.
/// SQS: <https://docs.aws.amazon.com/AWSSimpleQueueService/latest/APIReference/CommonErrors.html>
/// and each action's "Errors" section; SNS: <https://docs.aws.amazon.com/sns/latest/api/CommonErrors.html>.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
pub enum ErrorCode {
    /// SQS: a parameter is out of range or not allowed here (also: an expired FIFO receipt handle).
    InvalidParameterValue,
    /// SQS: a required parameter is missing (e.g. MessageGroupId on a FIFO queue).
    MissingParameter,
    /// SQS: the receipt handle is not a handle of this queue.
    ReceiptHandleIsInvalid,
    /// SQS ChangeMessageVisibility: the message is not in flight.
    MessageNotInflight,
    /// SQS: no queue with this id/name.
    QueueDoesNotExist,
    /// SQS CreateQueue: a queue with this name exists.
    QueueNameExists,
    /// SQS: only one PurgeQueue per 60 seconds.
    PurgeQueueInProgress,
    TooManyEntriesInBatchRequest,
    EmptyBatchRequest,
    BatchEntryIdsNotDistinct,
    InvalidBatchEntryId,
    BatchRequestTooLong,
    /// A limit was reached (SQS in-flight limit, or a playground limit documented at the call).
    OverLimit,
    /// SNS: a parameter is invalid (bad filter policy, bad subscription, missing group id).
    InvalidParameter,
    /// SNS: no topic/subscription/delivery with this id.
    NotFound,
}

impl ErrorCode {
    pub fn as_str(self) -> &'static str {
        match self {
            ErrorCode::InvalidParameterValue => "InvalidParameterValue",
            ErrorCode::MissingParameter => "MissingParameter",
            ErrorCode::ReceiptHandleIsInvalid => "ReceiptHandleIsInvalid",
            ErrorCode::MessageNotInflight => "MessageNotInflight",
            ErrorCode::QueueDoesNotExist => "QueueDoesNotExist",
            ErrorCode::QueueNameExists => "QueueNameExists",
            ErrorCode::PurgeQueueInProgress => "PurgeQueueInProgress",
            ErrorCode::TooManyEntriesInBatchRequest => "TooManyEntriesInBatchRequest",
            ErrorCode::EmptyBatchRequest => "EmptyBatchRequest",
            ErrorCode::BatchEntryIdsNotDistinct => "BatchEntryIdsNotDistinct",
            ErrorCode::InvalidBatchEntryId => "InvalidBatchEntryId",
            ErrorCode::BatchRequestTooLong => "BatchRequestTooLong",
            ErrorCode::OverLimit => "OverLimit",
            ErrorCode::InvalidParameter => "InvalidParameter",
            ErrorCode::NotFound => "NotFound",
        }
    }
}

impl fmt::Display for ErrorCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// An SQS/SNS error: the code plus a sentence saying what was wrong.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct ApiError {
    pub code: ErrorCode,
    pub message: String,
}

impl ApiError {
    pub fn new(code: ErrorCode, message: impl Into<String>) -> ApiError {
        ApiError {
            code,
            message: message.into(),
        }
    }
}

impl fmt::Display for ApiError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.code, self.message)
    }
}

impl std::error::Error for ApiError {}
