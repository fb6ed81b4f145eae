// A Lambda function for the nodejs20.x runtime (an ES module). Deploy:
//
//   zip function.zip index.mjs
//   aws lambda create-function --function-name hello-node --runtime nodejs20.x --handler index.handler \
//       --role arn:aws:iam::000000000000:role/any --zip-file fileb://function.zip
export const handler = async (event, context) => {
  const name = event.name ?? "world";
  console.log("greeting", name);
  return {
    greeting: `hello ${name} from Node ${process.versions.node.split(".")[0]}`,
    requestId: context.awsRequestId,
    remainingMs: context.getRemainingTimeInMillis(),
  };
};
