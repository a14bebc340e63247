using System.Globalization;
using System.Net;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json;
using Linda.Beanstalk;
using Linda.Tests.Beanstalk;
using Linda.Tests.Infrastructure;
using Xunit;

namespace Linda.Dashboard.Tests;

/// <summary>
/// src/Linda.Server run as a program with --http-port: a tube a beanstalkd client makes over TCP is a
/// queue of the dashboard's JSON API, its jobs are listed there, an action taken there reaches the
/// tube, and a tube nobody made is refused as an unknown queue. A bad HTTP option stops the server
/// before it starts, with exit code 2 and what is wrong.
/// </summary>
[Collection(WebCollection.Name)]
public sealed class ServerDashboardSpec : IDisposable
{
    private static readonly TimeSpan StartBound = TimeSpan.FromSeconds(60);
    private static readonly TimeSpan ExitBound = TimeSpan.FromSeconds(30);
    private const double PauseSeconds = 30;

    private readonly TempFolder _data = new("linda-server-dashboard");
    private LindaServerProcess? _server;

    public void Dispose()
    {
        _server?.Dispose(); // the process first: whatever else goes wrong, it doesn't outlive the test
        _data.Dispose();
    }

    [Fact]
    public async Task A_tube_made_over_beanstalkd_is_a_queue_of_the_dashboard_and_its_actions_reach_the_tube()
    {
        var httpPort = TestPrograms.FreePort();
        _server = LindaServerProcess.Start("server", TestPrograms.FreePort(), "--data", _data.Path, "--http-port", httpPort.ToString(CultureInfo.InvariantCulture));
        await Listen(_server);
        Assert.Equal($"http://127.0.0.1:{httpPort}/linda", _server.Dashboard);

        using var beanstalk = await BeanstalkClient.Connect(_server.Port, "producer");
        await beanstalk.Write("use emails\r\nput 0 0 60 5\r\nhello\r\n");
        Assert.Equal("USING emails", await beanstalk.ReadLine());
        var inserted = await beanstalk.ReadLine();
        Assert.StartsWith("INSERTED ", inserted);
        var wireId = ulong.Parse(inserted["INSERTED ".Length..], CultureInfo.InvariantCulture);

        using var http = new HttpClient(new HttpClientHandler { CookieContainer = new CookieContainer() })
        {
            BaseAddress = new Uri($"http://127.0.0.1:{httpPort}/linda/api/"),
        };
        // The tube made after the start is listed, beside "default".
        var queues = await Get(http, "queues");
        Assert.Equal(["default", "emails"], queues.EnumerateArray().Select(q => q.GetProperty("name").GetString()));
        var emails = queues[1];
        Assert.Equal(1, emails.GetProperty("ready").GetInt32());
        Assert.Equal(1, emails.GetProperty("totalJobs").GetInt64());
        Assert.Equal(0, queues[0].GetProperty("totalJobs").GetInt64());

        // Its job, under the sequence number its wire id holds, with the body the client put.
        var ready = await Get(http, "queues/emails/jobs?state=ready");
        var job = Assert.Single(ready.GetProperty("jobs").EnumerateArray());
        Assert.Equal(WireIds.SeqOf(wireId), job.GetProperty("seq").GetInt64());
        Assert.Equal("hello", Encoding.Latin1.GetString(Convert.FromBase64String(job.GetProperty("bytes").GetString()!)));
        Assert.Equal(60.0, job.GetProperty("timeToRunSeconds").GetDouble());

        // An action (antiforgery token in its header, its cookie sent back) pauses the tube itself.
        var before = DateTimeOffset.UtcNow;
        var paused = await Post(http, $"queues/emails/pause?seconds={PauseSeconds.ToString(CultureInfo.InvariantCulture)}");
        var until = paused.GetProperty("pausedUntil").GetDateTimeOffset();
        Assert.InRange(until, before.AddSeconds(PauseSeconds - 1), DateTimeOffset.UtcNow.AddSeconds(PauseSeconds + 1));
        Assert.Equal(until, (await Get(http, "queues/emails")).GetProperty("pausedUntil").GetDateTimeOffset());
        var (reply, stats) = await beanstalk.AskYaml("stats-tube emails");
        Assert.StartsWith("OK ", reply);
        Assert.InRange(long.Parse(stats!["pause-time-left"], CultureInfo.InvariantCulture), 1, (long)PauseSeconds);
        Assert.Equal("WATCHING 2", await beanstalk.Ask("watch emails"));
        Assert.Equal("WATCHING 1", await beanstalk.Ask("ignore default"));
        Assert.Equal("TIMED_OUT", await beanstalk.Ask("reserve-with-timeout 0")); // paused: its ready job is not handed out

        // A tube nobody made is an unknown queue, and asking for it doesn't make it.
        using (var unknown = await http.GetAsync("queues/nobody"))
        {
            var body = await unknown.Content.ReadFromJsonAsync<JsonElement>();
            Assert.True(unknown.StatusCode == HttpStatusCode.NotFound, $"GET queues/nobody: {(int)unknown.StatusCode} {body}");
            Assert.Equal("rejected", body.GetProperty("error").GetString());
        }
        Assert.Equal("NOT_FOUND", await beanstalk.Ask("stats-tube nobody"));
        Assert.DoesNotContain("nobody", (await Get(http, "queues")).EnumerateArray().Select(q => q.GetProperty("name").GetString()));
    }

    [Theory]
    [InlineData("--http-port x", "--http-port: 'x' is not a whole number from 0 to 65535")]
    [InlineData("--http-port 70000", "--http-port: '70000' is not a whole number from 0 to 65535")]
    [InlineData("--http-port -1", "--http-port: '-1' is not a whole number from 0 to 65535")]
    [InlineData("--http-port", "--http-port needs a value")]
    [InlineData("--http-port 8080 --http-host localhost", "--http-host: 'localhost' is not an IP address")]
    [InlineData("--http-host 127.0.0.1", "--http-host: there is no --http-port to listen on")]
    public async Task A_bad_http_option_exits_2_with_what_is_wrong(string args, string message)
    {
        var (exit, stdout, stderr) = await LindaServerProcess.RunToExitAsync(["--data", _data.Path, .. args.Split(' ')], ExitBound);
        Assert.True(exit == 2, $"Linda.Server {args}: exit {exit}\n{stdout}\n{stderr}");
        Assert.Contains(message, stderr);
        Assert.DoesNotContain("LISTENING", stdout);
    }

    private static async Task Listen(LindaServerProcess server)
    {
        try
        {
            var port = await server.Listening.WaitAsync(StartBound);
            Assert.Equal(server.Port, port);
        }
        catch (Exception e) when (e is TimeoutException or InvalidOperationException)
        {
            Assert.Fail($"{server.Name} did not print LISTENING within {StartBound.TotalSeconds} s: {e.Message}\n{server.RecentLog()}");
        }
    }

    private static async Task<JsonElement> Get(HttpClient http, string path)
    {
        using var response = await http.GetAsync(path);
        var body = await response.Content.ReadFromJsonAsync<JsonElement>();
        Assert.True(response.StatusCode == HttpStatusCode.OK, $"GET {path}: {(int)response.StatusCode} {body}");
        return body;
    }

    private static async Task<JsonElement> Post(HttpClient http, string path)
    {
        var antiforgery = await Get(http, "antiforgery"); // sets its cookie in the client's container
        using var request = new HttpRequestMessage(HttpMethod.Post, path);
        request.Headers.Add(antiforgery.GetProperty("header").GetString()!, antiforgery.GetProperty("token").GetString());
        using var response = await http.SendAsync(request);
        var body = await response.Content.ReadFromJsonAsync<JsonElement>();
        Assert.True(response.StatusCode == HttpStatusCode.OK, $"POST {path}: {(int)response.StatusCode} {body}");
        return body;
    }
}
