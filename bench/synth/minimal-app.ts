/**
 * The baseline for bench/synth: the smallest useful CDK app (one bucket),
 * synthesized the same way as Ephemera's (tsx, CDK's built-in validation on).
 */
import { App, Stack } from 'aws-cdk-lib';
import * as s3 from 'aws-cdk-lib/aws-s3';

const app = new App({ outdir: process.env.CDK_OUTDIR ?? 'cdk.out.minimal' });
const stack = new Stack(app, 'Minimal');
new s3.Bucket(stack, 'Bucket');
app.synth();
