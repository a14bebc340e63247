using System.Diagnostics;
using Akka.Actor;
using Linda.Dashboard;
using Linda.Hosting;
using Linda.Tests.Infrastructure;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace Linda.Benchmarks;

/// <summary>
/// The dashboard open during a run (<c>--dashboard=on</c>): Kestrel serves <c>MapLindaDashboard</c>
/// on the benchmark's ActorSystem (with its throughput sampler), and headless Chromium keeps the
/// overview and the queue's page open, each redrawing itself from the JSON API every two seconds, as
/// a person watching does. Counts the API requests served, so the run shows the pages did refresh.
/// </summary>
internal sealed class DashboardLoad : IAsyncDisposable
{
    private const string Chromium = "/usr/bin/chromium";
    private readonly WebApplication _app;
    private readonly List<Process> _browsers = [];
    private readonly TempFolder _profiles = new();
    private long _requests;
    private long _startedAt;

    private DashboardLoad(WebApplication app) => _app = app;

    /// <summary>API requests served since the clock started.</summary>
    public long Requests => Interlocked.Read(ref _requests);

    public static async Task<DashboardLoad?> StartAsync(Options o, ActorSystem system, string queue, IActorRef q)
    {
        if (o.Str("dashboard", "off") != "on")
            return null;
        LindaNode.Get(system).AddQueue(queue, q);
        var port = TestPrograms.FreePort();
        var builder = WebApplication.CreateSlimBuilder();
        builder.Logging.ClearProviders();
        builder.WebHost.UseUrls($"http://127.0.0.1:{port}");
        builder.Services.AddSingleton(system).AddLindaClient().AddLindaDashboard();
        var app = builder.Build();
        var load = new DashboardLoad(app);
        app.Use(async (context, next) =>
        {
            if (context.Request.Path.StartsWithSegments("/linda/api"))
                Interlocked.Increment(ref load._requests);
            await next(context);
        });
        app.MapLindaDashboard("/linda");
        await app.StartAsync();

        foreach (var page in new[] { "#/", "#/queues/" + Uri.EscapeDataString(queue) })
        {
            var start = new ProcessStartInfo(Chromium)
            {
                ArgumentList = { "--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--no-first-run",
                    "--remote-debugging-port=0", "--user-data-dir=" + load._profiles.File("profile-" + load._browsers.Count),
                    $"http://127.0.0.1:{port}/linda/{page}" },
                RedirectStandardOutput = true,
                RedirectStandardError = true,
            };
            var browser = Process.Start(start) ?? throw new InvalidOperationException("chromium did not start");
            browser.OutputDataReceived += (_, _) => { };
            browser.ErrorDataReceived += (_, _) => { };
            browser.BeginOutputReadLine();
            browser.BeginErrorReadLine();
            load._browsers.Add(browser);
        }
        // Both pages are polling before the clock starts.
        await Conditions.Until(() => load.Requests >= 8, "the dashboard's pages are refreshing", TimeSpan.FromSeconds(60));
        Interlocked.Exchange(ref load._requests, 0);
        load._startedAt = Stopwatch.GetTimestamp();
        Console.Error.WriteLine($"# dashboard: http://127.0.0.1:{port}/linda/ open in {load._browsers.Count} headless Chromium pages");
        return load;
    }

    /// <summary>API requests per second since the clock started.</summary>
    public double RequestsPerSecond => Requests / Stopwatch.GetElapsedTime(_startedAt).TotalSeconds;

    public async ValueTask DisposeAsync()
    {
        foreach (var browser in _browsers)
        {
            try
            {
                browser.Kill(entireProcessTree: true);
                await browser.WaitForExitAsync();
            }
            catch (InvalidOperationException)
            {
                // already gone
            }
            browser.Dispose();
        }
        await _app.StopAsync();
        await _app.DisposeAsync();
        _profiles.Dispose();
    }
}
