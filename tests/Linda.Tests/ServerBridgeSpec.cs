using System.Diagnostics;
using System.Globalization;
using System.Text.Json;
using Linda.Tests.Beanstalk;
using Linda.Tests.Infrastructure;
using Xunit;
using Xunit.Abstractions;

namespace Linda.Tests;

/// <summary>
/// src/Linda.Server run as a program with <c>--redis</c>, against a real redis-server: a job the Go
/// Linda's push_jobs writes (the script) becomes a job of the tube of the same name, and a beanstalkd
/// client reserving it gets <c>{"class": ..., "args": [...]}</c> as its body; a queue that appears in
/// Redis later is found and made a tube. A bad <c>--redis</c> stops the server with exit code 2.
/// </summary>
[Collection(DatabaseCollection.Name)]
public sealed class ServerBridgeSpec(ITestOutputHelper output) : IAsyncLifetime
{
    private static readonly TimeSpan StartBound = TimeSpan.FromSeconds(60);
    private readonly TempFolder _data = new("linda-server-bridge");
    private RedisServer _redis = null!;
    private LindaServerProcess? _server;

    public async Task InitializeAsync() => _redis = await RedisServer.StartAsync();

    public async Task DisposeAsync()
    {
        if (_server is not null)
            output.WriteLine(_server.RecentLog());
        _server?.Dispose();
        await _redis.DisposeAsync();
        _data.Dispose();
    }

    [Fact]
    public async Task A_go_job_in_redis_is_reserved_from_the_tube_of_its_queue_with_class_and_args_as_its_body()
    {
        await PushJobs("1", "test"); // before the server starts
        var port = TestPrograms.FreePort();
        _server = LindaServerProcess.Start("bridge", port, "--data", _data.Path, "--redis", $"127.0.0.1:{_redis.Port}");
        await _server.Listening.WaitAsync(StartBound);
        using var client = await BeanstalkClient.Connect(port, "worker");
        Assert.Equal("WATCHING 2", await client.Ask("watch test"));

        var (reply, body) = await client.AskJob("reserve-with-timeout 60");
        Assert.StartsWith("RESERVED ", reply);
        using (var job = JsonDocument.Parse(body!))
        {
            Assert.Equal("printArgs", job.RootElement.GetProperty("class").GetString());
            Assert.Equal(["a", "b", "c"], job.RootElement.GetProperty("args").EnumerateArray().Select(a => a.GetString()));
        }
        var id = reply.Split(' ')[1];
        var (_, stats) = await client.AskYaml($"stats-job {id}");
        Assert.Equal("test", stats!["tube"]);
        Assert.Equal("reserved", stats["state"]);
        Assert.Equal("DELETED", await client.Ask($"delete {id}"));
        Assert.Equal(0, await _redis.Db.ListLengthAsync("queue:test"));
        Assert.Equal(0, await _redis.Db.HashLengthAsync("linda:bridge:moving:test"));

        // A queue nobody used yet: the bridge's scan finds it, and its tube is made.
        await PushJobs("mail-7", "emails");
        Assert.Equal("WATCHING 3", await client.Ask("watch emails"));
        (reply, body) = await client.AskJob("reserve-with-timeout 60");
        Assert.StartsWith("RESERVED ", reply);
        Assert.Contains("\"class\":\"printArgs\"", body);
        Assert.Equal("emails", (await client.AskYaml($"stats-job {reply.Split(' ')[1]}")).Data!["tube"]);
    }

    [Theory]
    [InlineData("--redis redis://", "--redis: 'redis://' is not a Redis URL like redis://127.0.0.1:6379/")]
    [InlineData("--redis redis://127.0.0.1:6379/first", "--redis: 'redis://127.0.0.1:6379/first': the database 'first' is not a number")]
    [InlineData("--redis-queue test", "--redis-queue: there is no --redis to take it from")]
    [InlineData("--redis 127.0.0.1:6379 --redis-queue bad:name", "--redis-queue: ")]
    public async Task A_bad_redis_option_exits_2_with_what_is_wrong(string args, string message)
    {
        var (exit, stdout, stderr) = await LindaServerProcess.RunToExitAsync(["--data", _data.Path, .. args.Split(' ')], TimeSpan.FromSeconds(30));
        Assert.True(exit == 2, $"Linda.Server {args}: exit {exit}\n{stdout}\n{stderr}");
        Assert.Contains(message, stderr);
        Assert.DoesNotContain("LISTENING", stdout);
    }

    /// <summary>tests/go-producer/push_jobs.sh: what the Go example's push_jobs writes.</summary>
    private async Task PushJobs(string id, string queue)
    {
        var script = Path.Combine(TestPrograms.RepositoryRoot(), "tests", "go-producer", "push_jobs.sh");
        using var producer = Process.Start(new ProcessStartInfo("bash", [script, _redis.Port.ToString(CultureInfo.InvariantCulture), id, queue])
        {
            RedirectStandardOutput = true,
            UseShellExecute = false,
        })!;
        Assert.Equal($"pushed {id} to queue:{queue}", (await producer.StandardOutput.ReadToEndAsync()).Trim());
        await producer.WaitForExitAsync();
        Assert.Equal(0, producer.ExitCode);
    }
}
