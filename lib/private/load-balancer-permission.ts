import { Stack, Validations } from 'aws-cdk-lib';
import * as lambda from 'aws-cdk-lib/aws-lambda';

/**
 * Limits a load balancer's permission to invoke a function to this account's
 * load balancers (SourceAccount). It cannot name the target group
 * (SourceArn): the target group registers the function only once the
 * permission exists, so each would wait for the other. Call it after the
 * function is added to its target group.
 */
export function restrictLoadBalancerInvoke(fn: lambda.IFunction): void {
  const permissions = fn.node
    .findAll()
    .filter(
      (c): c is lambda.CfnPermission =>
        c instanceof lambda.CfnPermission && c.principal === 'elasticloadbalancing.amazonaws.com',
    );
  for (const permission of permissions) {
    permission.sourceAccount = Stack.of(fn).account;
    Validations.of(permission).acknowledge({
      id: 'cdk-validator-cfnguard::lambda_function_public_access_prohibited_check',
      reason:
        'The permission is for the Elastic Load Balancing service principal and carries SourceAccount (this account, a pseudo-parameter the rule cannot read); a SourceArn naming the target group would be a dependency cycle, since the target group registers the function only after the permission exists.',
    });
  }
}
