/**
 * The default key policy AWS KMS attaches when CreateKey gets none: the account's root
 * principal may do everything with the key ("Enable IAM User Permissions").
 */
export function defaultKeyPolicyDocument(accountId: string): string {
  return JSON.stringify({
    Version: '2012-10-17',
    Id: 'key-default-1',
    Statement: [
      {
        Sid: 'Enable IAM User Permissions',
        Effect: 'Allow',
        Principal: { AWS: `arn:aws:iam::${accountId}:root` },
        Action: 'kms:*',
        Resource: '*',
      },
    ],
  });
}
