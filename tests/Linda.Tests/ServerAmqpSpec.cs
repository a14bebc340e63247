using System.Text;
using System.Text.Json;
using Linda.Tests.Beanstalk;
using Linda.Tests.Infrastructure;
using RabbitMQ.Client;
using Xunit;
using Xunit.Abstractions;
using static Linda.Tests.Infrastructure.Conditions;

namespace Linda.Tests;

/// <summary>
/// src/Linda.Server run as a program with <c>--amqp</c>, against the collection's real rabbitmq-server:
/// a message published to a RabbitMQ queue becomes a job of the tube named for it, a beanstalkd client
/// reserving it gets <c>{"class": ..., "args": [...]}</c>, and its deletion (the job's completion) is
/// published to the outcome exchange. Bad <c>--amqp</c> options stop the server with exit code 2.
/// </summary>
[Collection(RabbitMqCollection.Name)]
public sealed class ServerAmqpSpec(RabbitMqServer rabbit, ITestOutputHelper output) : IAsyncLifetime
{
    private static readonly TimeSpan StartBound = TimeSpan.FromSeconds(60);
    private readonly TempFolder _data = new("linda-server-amqp");
    private readonly string _queue = "orders-" + Guid.NewGuid().ToString("N")[..8];
    private IConnection _connection = null!;
    private IChannel _channel = null!;
    private LindaServerProcess? _server;

    public async Task InitializeAsync()
    {
        _connection = await rabbit.Factory().CreateConnectionAsync();
        _channel = await _connection.CreateChannelAsync(new CreateChannelOptions(publisherConfirmationsEnabled: true, publisherConfirmationTrackingEnabled: true));
        await _channel.QueueDeclareAsync(_queue, durable: true, exclusive: false, autoDelete: false);
    }

    public async Task DisposeAsync()
    {
        if (_server is not null)
            output.WriteLine(_server.RecentLog());
        _server?.Dispose();
        if (rabbit.Running && _connection.IsOpen)
            await _channel.QueueDeleteAsync(_queue);
        await _connection.DisposeAsync();
        _data.Dispose();
    }

    [Fact]
    public async Task A_message_is_reserved_from_its_tube_with_class_and_args_and_its_completion_is_published()
    {
        var exchange = _queue + "-outcomes";
        await _channel.ExchangeDeclareAsync(exchange, ExchangeType.Topic, durable: true, autoDelete: true);
        var outcomes = (await _channel.QueueDeclareAsync("", durable: false, exclusive: true, autoDelete: true)).QueueName;
        await _channel.QueueBindAsync(outcomes, exchange, "#");
        await _channel.BasicPublishAsync("", _queue, mandatory: true, new BasicProperties { Persistent = true, MessageId = "order-1" },
            JsonSerializer.SerializeToUtf8Bytes(new { @class = "ship", args = new object[] { 17, "express" } }));

        var port = TestPrograms.FreePort();
        _server = LindaServerProcess.Start("amqp", port, "--data", _data.Path, "--amqp", rabbit.Url, "--amqp-queue", $"{_queue}=shipping", "--amqp-outcomes", exchange);
        await _server.Listening.WaitAsync(StartBound);
        using var client = await BeanstalkClient.Connect(port, "worker");
        Assert.Equal("WATCHING 2", await client.Ask("watch shipping"));
        var (reply, body) = await client.AskJob("reserve-with-timeout 60");
        Assert.StartsWith("RESERVED ", reply);
        using (var job = JsonDocument.Parse(body!))
        {
            Assert.Equal("ship", job.RootElement.GetProperty("class").GetString());
            Assert.Equal("[17,\"express\"]", job.RootElement.GetProperty("args").GetRawText());
        }
        // Acknowledged to RabbitMQ once the tube wrote it: nothing left there, ready or unacked.
        await Until(async () => await rabbit.CountsAsync(_queue) == (0, 0), "the message to be acknowledged");

        var id = reply.Split(' ')[1];
        Assert.Equal("DELETED", await client.Ask($"delete {id}"));
        BasicGetResult? outcome = null;
        await Until(async () => (outcome = await _channel.BasicGetAsync(outcomes, autoAck: true)) is not null, "the completion on the outcome exchange");
        Assert.Equal("shipping.completed", outcome!.RoutingKey);
        using var told = JsonDocument.Parse(Encoding.UTF8.GetString(outcome.Body.Span));
        Assert.Equal(("order-1", "ship", "completed"),
            (told.RootElement.GetProperty("id").GetString(), told.RootElement.GetProperty("class").GetString(), told.RootElement.GetProperty("outcome").GetString()));
    }

    [Theory]
    [InlineData("--amqp amqp://127.0.0.1:5672/", "--amqp: name the RabbitMQ queues to take with --amqp-queue NAME")]
    [InlineData("--amqp-queue orders", "--amqp-queue: there is no --amqp to take it from")]
    [InlineData("--amqp amqp://127.0.0.1:5672/ --amqp-queue orders=bad:tube", "--amqp-queue: ")]
    [InlineData("--amqp http://127.0.0.1/ --amqp-queue orders", "--amqp: ")]
    public async Task A_bad_amqp_option_exits_2_with_what_is_wrong(string args, string message)
    {
        var (exit, stdout, stderr) = await LindaServerProcess.RunToExitAsync(["--data", _data.Path, .. args.Split(' ')], TimeSpan.FromSeconds(30));
        Assert.True(exit == 2, $"Linda.Server {args}: exit {exit}\n{stdout}\n{stderr}");
        Assert.Contains(message, stderr);
        Assert.DoesNotContain("LISTENING", stdout);
    }
}
