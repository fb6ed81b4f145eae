// A Lambda function for the nodejs20.x runtime, CommonJS with a callback handler. Deploy:
//
//   zip function.zip index.js
//   aws lambda create-function --function-name hello-cjs --runtime nodejs20.x --handler index.handler \
//       --role arn:aws:iam::000000000000:role/any --zip-file fileb://function.zip
exports.handler = (event, context, callback) => {
  if (event.fail) {
    callback(new TypeError(`asked to fail for ${event.name}`));
    return;
  }
  console.log("counting", event.name);
  callback(null, { counted: (event.name || "").length, functionName: context.functionName });
};
