package dynamo

// ItemSize lets the external tests size items as DynamoDB bills them.
var ItemSize = itemSize
