"""The AWS adapters: each implements a port of microtarget.ports over boto3 (DynamoDB, S3, SQS,
Scheduler, SES, SNS, EventBridge, KMS, Kinesis). Nothing outside this package calls boto3,
except the composition roots in microtarget.edge that build the clients."""
