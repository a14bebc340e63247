using Akka.Actor;
using Linda.Hosting;
using Linda.RabbitMQ;
using RabbitMQ.Client;
using Xunit;
using static Linda.JobQueue;

namespace Linda.Tests;

/// <summary>The RabbitMQ bridge's options are checked before anything connects, and a message's body and headers are read strictly (no server: pure).</summary>
public sealed class RabbitMqBridgeOptionsSpec
{
    private static RabbitMqBridgeOptions Valid() => new() { Url = "amqp://guest:guest@127.0.0.1:5672/", Queues = ["orders", new BridgedQueue("mail-out", "mail")] };

    public static TheoryData<string, Action<RabbitMqBridgeOptions>> Wrong => new()
    {
        { "Url", o => o.Url = "http://127.0.0.1:5672/" },
        { "Url", o => o.Url = "not a url" },
        { "Queues", o => o.Queues = [] },
        { "Queues", o => o.Queues = ["orders", "orders"] },
        { "Queues", o => o.Queues = [new BridgedQueue("orders", "has space")] },
        { "Queues", o => o.Queues = [""] },
        { "Prefetch", o => o.Prefetch = 0 },
        { "Prefetch", o => o.Prefetch = 70_000 },
        { "DedupFor", o => o.DedupFor = TimeSpan.Zero },
        { "PushTimeout", o => o.PushTimeout = TimeSpan.FromSeconds(-1) },
        { "RetryDelayMax", o => o.RetryDelayMax = TimeSpan.FromMilliseconds(1) },
        { "OutcomeBuffer", o => o.OutcomeBuffer = 0 },
        { "DeadLetterExchange", o => o.DeadLetterExchange = new string('x', 256) },
        { "OutcomeExchange", o => { o.OutcomeExchange = "outcomes"; o.PublishCompletions = false; o.PublishBurials = false; } },
    };

    [Theory, MemberData(nameof(Wrong))]
    public void A_wrong_option_is_an_argument_exception_naming_it(string option, Action<RabbitMqBridgeOptions> spoil)
    {
        Valid().Validate();
        var options = Valid();
        spoil(options);
        var e = Assert.ThrowsAny<ArgumentException>(options.Validate);
        Assert.Equal(option, e.ParamName);
    }

    [Fact]
    public async Task Outcomes_need_the_queues_to_tell_them()
    {
        using var system = ActorSystem.Create("options-spec", LindaSettings.DefaultConfig);
        var options = Valid();
        options.OutcomeExchange = "outcomes";
        var e = Assert.Throws<ArgumentException>(() => new RabbitMqBridge(options, new LindaClient(system), system));
        Assert.Contains("linda.queue.outcome-events is off", e.Message);
        await system.Terminate();
    }

    [Fact]
    public void Headers_of_any_amqp_integer_type_or_digits_map_and_a_digit_only_id_gets_its_prefix()
    {
        var properties = new BasicProperties
        {
            MessageId = "12345",
            Headers = new Dictionary<string, object?>
            {
                [RabbitMqHeaders.Priority] = (byte)3,
                [RabbitMqHeaders.Delay] = "250"u8.ToArray(), // an AMQP long string arrives as bytes
                [RabbitMqHeaders.Retries] = -1L,
            },
        };
        var (push, refusal) = MessageReader.Read("orders", properties, """{"class": "send", "args": [1]}"""u8, Valid());
        Assert.Null(refusal);
        Assert.Equal(("amqp-12345", 3u, TimeSpan.FromMilliseconds(250), (int?)-1), (push!.Id, push.Priority, push.Delay, push.MaxRetries));
        Assert.Equal((RabbitMqBridge.DedupKey("amqp-12345"), (TimeSpan?)TimeSpan.FromDays(1)), (push.UniqueKey, push.UniqueFor));
        Assert.Equal(JobPayload.FromJson("send", "[1]"), push.Payload);
    }

    [Fact]
    public void Without_an_id_linda_makes_one_unless_the_options_require_it()
    {
        var (push, _) = MessageReader.Read("orders", new BasicProperties(), """{"class": "send"}"""u8, Valid());
        Assert.Equal((null, null, "[]"), (push!.Id, push.UniqueKey, push.Payload.ArgsJson));
        var strict = Valid();
        strict.RequireId = true;
        var (none, refusal) = MessageReader.Read("orders", new BasicProperties(), """{"class": "send"}"""u8, strict);
        Assert.Null(none);
        Assert.Contains("no message-id property and no x-linda-id header", refusal);
    }

    [Theory]
    [InlineData(RabbitMqHeaders.Priority, -1, "header x-linda-priority is -1; it must be between 0 and 4294967295")]
    [InlineData(RabbitMqHeaders.TimeToRun, 0, "header x-linda-ttr is 0; it must be between 1 and")]
    [InlineData(RabbitMqHeaders.Delay, 1.5, "header x-linda-delay is a Double, not a whole number")]
    [InlineData(RabbitMqHeaders.Class, 7, "header x-linda-class is a Int32, not a string")]
    public void A_header_that_cant_be_read_refuses_the_message_with_the_reason(string header, object value, string reason)
    {
        var properties = new BasicProperties { MessageId = "m", Headers = new Dictionary<string, object?> { [header] = value } };
        var (push, refusal) = MessageReader.Read("orders", properties, """{"class": "send"}"""u8, Valid());
        Assert.Null(push);
        Assert.StartsWith(reason, refusal);
    }
}
