using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using Linda.Tests.Infrastructure;
using Xunit;
using Xunit.Abstractions;
using Xunit.Sdk;

namespace Linda.Dashboard.Tests;

/// <summary>
/// samples/WebApp run as a process of its own (built next to the tests) on a free port and a temp data
/// folder, driven over HTTP: it says where it listens, a signup is a job that runs, a blank email is refused.
/// </summary>
[Collection(SamplesCollection.Name)]
public sealed class WebAppSampleSpec(ITestOutputHelper output)
{
    // How long the app may take to say it listens: a cold start on a busy machine.
    private static readonly TimeSpan StartBound = TimeSpan.FromMinutes(2);
    private const int LogLines = 500;

    [Fact]
    public async Task A_signup_is_a_job_that_runs_and_a_blank_email_is_refused()
    {
        using var folder = new TempFolder("linda-webapp");
        var port = TestPrograms.FreePort();
        var listening = new TaskCompletionSource<string>(TaskCreationOptions.RunContinuationsAsynchronously);
        using var app = StartWebApp(port, folder.Path, listening);
        try
        {
            var exited = app.Process.WaitForExitAsync();
            if (await Task.WhenAny(listening.Task, exited).WaitAsync(StartBound) == exited)
                throw new XunitException($"WebApp exited ({app.Process.ExitCode}) before it listened");
            Assert.Equal($"WebApp: http://127.0.0.1:{port} (dashboard: /linda)", await listening.Task);

            using var http = new HttpClient { BaseAddress = new Uri($"http://127.0.0.1:{port}/") };
            string id;
            using (var signup = await http.PostAsJsonAsync("signup", new { email = "ada@example.com" }))
            {
                Assert.Equal(HttpStatusCode.Accepted, signup.StatusCode);
                id = (await signup.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("id").GetString()!;
                Assert.False(string.IsNullOrEmpty(id));
                Assert.Equal($"/linda/api/jobs/web/{id}", signup.Headers.Location?.OriginalString);
            }

            // The handler ran, and the job is complete: gone from the queue.
            await Conditions.Until(() => app.Logged.Contains("sent welcome to ada@example.com"), "the sendWelcome handler's line");
            await Conditions.Until(async () =>
            {
                using var job = await http.GetAsync($"linda/api/jobs/web/{id}");
                return job.StatusCode == HttpStatusCode.NotFound;
            }, $"job {id} completed (no longer found)");

            foreach (var body in new object[] { new { email = "  " }, new { } })
            {
                using var refused = await http.PostAsJsonAsync("signup", body);
                Assert.Equal(HttpStatusCode.BadRequest, refused.StatusCode);
                var error = await refused.Content.ReadFromJsonAsync<JsonElement>();
                Assert.Equal("bad-signup", error.GetProperty("code").GetString());
                Assert.Contains("needs an email", error.GetProperty("message").GetString());
            }
            using var stats = await http.GetAsync("linda/api/queues/web");
            Assert.Equal(1, (await stats.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("totalJobs").GetInt64()); // the refusals pushed nothing
        }
        catch (Exception e)
        {
            throw new XunitException($"{e.Message}\n--- WebApp's output ---\n{app.Logged}", e);
        }
    }

    // Runs WebApp.dll with --urls and --data; each stdout line goes to the log and the test's output, and the listening line to listening.
    private CapturedProcess StartWebApp(int port, string data, TaskCompletionSource<string> listening)
    {
        CapturedProcess app = null!;
        app = new CapturedProcess(TestPrograms.Dotnet("WebApp.dll", "--urls", $"http://127.0.0.1:{port}", "--data", data), LogLines, (line, _) =>
        {
            app.Log(line);
            output.WriteLine(line);
            if (line.StartsWith("WebApp: http"))
                listening.TrySetResult(line);
        });
        app.Start();
        return app;
    }
}
