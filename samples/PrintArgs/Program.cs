// The seed's first example: a node with 4 workers for queue "test" running the "printArgs" handler,
// until Ctrl+C. It seeds its own cluster; PushJobs joins it to push jobs.
// With --redis URL it also takes the jobs a Go Linda producer writes to Redis (queue:test) into Linda.
// With --amqp URL it also takes the messages of the RabbitMQ queue "test" (or --amqp-queue NAME) into
// Linda's queue "test": each body {"class": "printArgs", "args": [...]}, its message id the job's id.
// usage: dotnet run --project samples/PrintArgs [-- --port 4053] [--data DIR] [--redis redis://127.0.0.1:6379/]
//        [--amqp amqp://guest:guest@127.0.0.1:5672/] [--amqp-queue test]
using Akka.Cluster.Hosting;
using Akka.Configuration;
using Akka.Hosting;
using Akka.Remote.Hosting;
using Linda.Hosting;
using Linda.RabbitMQ;
using Linda.Redis;
using Microsoft.Extensions.Hosting;

var port = 4053;
var data = "linda-data";
string? redis = null;
string? amqp = null;
var amqpQueue = "test";
for (var i = 0; i + 1 < args.Length; i += 2)
{
    switch (args[i])
    {
        case "--port": port = int.Parse(args[i + 1]); break;
        case "--data": data = args[i + 1]; break;
        case "--redis": redis = args[i + 1]; break;
        case "--amqp": amqp = args[i + 1]; break;
        case "--amqp-queue": amqpQueue = args[i + 1]; break;
        default: Console.Error.WriteLine($"unknown option {args[i]}; usage: PrintArgs [--port N] [--data DIR] [--redis URL] [--amqp URL] [--amqp-queue NAME]"); return 2;
    }
}

var self = $"akka.tcp://linda@127.0.0.1:{port}";
using var host = new HostBuilder().ConfigureServices(services => services.AddAkka("linda", (akka, _) =>
{
    akka
    .AddHocon(ConfigurationFactory.ParseString("akka.loglevel = WARNING"), HoconAddMode.Prepend)
    .WithRemoting("127.0.0.1", port)
    .WithClustering(new ClusterOptions { Roles = ["queues", "workers"], SeedNodes = [self] })
    .WithLinda(new LindaOptions
    {
        Queues = ["test"],
        WorkerNum = 4,
        QueueRole = "queues",
        WorkerRole = "workers",
        SqlitePath = Path.Combine(data, "printargs.db"),
    }, handlers => handlers.RegisterWorker("printArgs", args => Console.WriteLine($"printArgs: {string.Join(" ", args.EnumerateArray())}")));
    if (redis is not null)
        akka.WithRedisBridge(new RedisBridgeOptions { Redis = redis, Queues = ["test"] });
    if (amqp is not null)
        akka.WithRabbitMqBridge(new RabbitMqBridgeOptions { Url = amqp, Queues = [new BridgedQueue(amqpQueue, "test")] });
}))
    .Build();

await host.StartAsync();
Console.WriteLine($"PrintArgs: 4 workers on queue 'test' at {self}{(redis is null ? "" : $", taking queue:test from {redis}")}{(amqp is null ? "" : $", taking RabbitMQ queue '{amqpQueue}'")}; Ctrl+C to stop");
await host.WaitForShutdownAsync();
return 0;
