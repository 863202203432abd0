"""Where Lambda meets the core: settings from the environment, the composition root of each
function, the Kinesis batch processor and the HTTP models and error responses of the API."""
