using Akka.Actor;
using Linda.Hosting;
using Linda.Dashboard.Tests.Infrastructure;
using Linda.Tests.Infrastructure;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.HttpOverrides;
using Microsoft.Extensions.DependencyInjection;
using OpenQA.Selenium;
using OpenQA.Selenium.Chrome;
using Xunit;
using static Linda.JobQueue;

namespace Linda.Dashboard.Tests.Browser;

/// <summary>
/// What the browser specs share: an ASP.NET Core app on a free loopback port that runs WithLinda on a
/// one-node cluster (SQLite file; Akka's default cluster profile; no workers, so jobs stay where the
/// specs put them; <see cref="Partitioned"/> has <see cref="PartitionCount"/> partitions) with the dashboard at /linda, and one headless Debian Chromium driven through
/// chromedriver. The app honours X-Forwarded-For from loopback, as behind a reverse proxy, which lets
/// a spec send the browser's requests as from another address. On a failure a spec saves a screenshot
/// and the page's HTML and names both in its message.
/// </summary>
public sealed class DashboardSite : IAsyncLifetime
{
    public static readonly string[] Queues = ["counts", "buried", "deletes", "pauses", "pages", Partitioned];

    /// <summary>The partitioned queue of <see cref="Queues"/>: partitions <c>parts~0</c> ...</summary>
    public const string Partitioned = "parts";
    public const int PartitionCount = 3;

    /// <summary>What the node hosts, as the cluster page lists it: every queue, the partitioned one as its partitions.</summary>
    public static IEnumerable<string> Hosted => Queues.Order(StringComparer.Ordinal).SelectMany(q => q == Partitioned
        ? Enumerable.Range(0, PartitionCount).Select(i => QueuePartitions.NameOf(q, i))
        : [q]);
    private const string Chromium = "/usr/bin/chromium";
    private const string ChromeDriver = "/usr/bin/chromedriver";

    private readonly TempFolder _folder = new();
    private WebApplication _app = null!;

    public ChromeDriver Driver { get; private set; } = null!;
    public ILindaClient Linda { get; private set; } = null!;
    public ActorSystem System { get; private set; } = null!;
    public string BaseUrl { get; private set; } = "";

    /// <summary>Where screenshots and pages of failed specs go (and of every spec's end with LINDA_BROWSER_SCREENSHOTS=always).</summary>
    public static string ArtifactsFolder =>
        Environment.GetEnvironmentVariable("LINDA_BROWSER_ARTIFACTS") is { Length: > 0 } folder
            ? folder
            : Path.Combine(TestPrograms.RepositoryRoot(), "TestResults", "browser");

    public async Task InitializeAsync()
    {
        foreach (var program in new[] { Chromium, ChromeDriver })
            if (!File.Exists(program))
                throw new InvalidOperationException($"the browser specs need Debian's chromium and chromium-driver ({program} is missing): apt-get install -y chromium chromium-driver (.ci/run does)");

        (_app, var dashboard) = await LindaWebApp.StartAsync("browse",
            new LindaOptions
            {
                Queues = Queues, Partitions = new Dictionary<string, int> { [Partitioned] = PartitionCount },
                WorkerRole = "no-workers-here", SqlitePath = _folder.File("linda.db"),
            },
            services: s => s.Configure<ForwardedHeadersOptions>(o => o.ForwardedHeaders = ForwardedHeaders.XForwardedFor),
            pipeline: app => app.UseForwardedHeaders());
        BaseUrl = dashboard.ToString();
        Linda = _app.Services.GetRequiredService<ILindaClient>();
        System = _app.Services.GetRequiredService<ActorSystem>();

        var options = new ChromeOptions { BinaryLocation = Chromium };
        options.AddArguments("--headless=new", "--no-sandbox", "--disable-dev-shm-usage", "--disable-gpu", "--window-size=1400,1000",
            "--no-first-run", "--disable-extensions", "--user-data-dir=" + _folder.File("chromium"));
        var service = ChromeDriverService.CreateDefaultService(Path.GetDirectoryName(ChromeDriver)!, Path.GetFileName(ChromeDriver));
        service.SuppressInitialDiagnosticInformation = true;
        service.HideCommandPromptWindow = true;
        Driver = new ChromeDriver(service, options, TimeSpan.FromSeconds(120));
        Driver.Manage().Timeouts().PageLoad = TimeSpan.FromSeconds(60);
        Driver.Manage().Timeouts().AsynchronousJavaScript = TimeSpan.FromSeconds(30);
    }

    public async Task DisposeAsync()
    {
        Driver?.Quit();
        Driver?.Dispose();
        if (_app is not null)
        {
            await _app.StopAsync();
            await _app.DisposeAsync();
        }
        _folder.Dispose();
    }

    /// <summary>Runs a spec's steps; on a failure saves the screenshot and the HTML, and fails with their paths.</summary>
    public async Task Browse(string spec, Func<Task> steps)
    {
        try
        {
            await steps();
            if (Environment.GetEnvironmentVariable("LINDA_BROWSER_SCREENSHOTS") == "always")
                SaveArtifacts(spec);
        }
        catch (Exception e)
        {
            var saved = SaveArtifacts(spec);
            throw new Xunit.Sdk.XunitException($"{e.Message}\n(browser at {Driver.Url}; {saved})\n{e}");
        }
    }

    private string SaveArtifacts(string spec)
    {
        try
        {
            Directory.CreateDirectory(ArtifactsFolder);
            var stem = Path.Combine(ArtifactsFolder, $"{spec}-{DateTime.UtcNow:yyyyMMdd-HHmmss}");
            Driver.GetScreenshot().SaveAsFile(stem + ".png");
            File.WriteAllText(stem + ".html", Driver.PageSource);
            return $"screenshot {stem}.png, page {stem}.html";
        }
        catch (Exception e)
        {
            return "no screenshot: " + e.Message;
        }
    }

    /// <summary>Opens a dashboard route (a fragment such as "#/queues/counts") and waits for it to be drawn.</summary>
    public void Open(string fragment)
    {
        Driver.Navigate().GoToUrl(BaseUrl + fragment);
        Until(() => Driver.FindElements(By.CssSelector("#live")).Count == 1 && Driver.FindElement(By.Id("live")).GetAttribute("title")!.StartsWith("updated"),
            $"the page {fragment} drew itself from the API");
    }

    /// <summary>Waits (generously: the CI machine is loaded) until <paramref name="condition"/> holds; fails saying what was awaited.</summary>
    public void Until(Func<bool> condition, string what, TimeSpan? bound = null)
    {
        var deadline = DateTime.UtcNow + (bound ?? TimeSpan.FromSeconds(30));
        Exception? last = null;
        while (true)
        {
            try
            {
                if (condition())
                    return;
                last = null;
            }
            catch (Exception e) when (e is WebDriverException or InvalidOperationException)
            {
                last = e; // the element was redrawn under us: look again
            }
            if (DateTime.UtcNow > deadline)
                throw new TimeoutException($"waited {(bound ?? TimeSpan.FromSeconds(30)).TotalSeconds:0} s for: {what}" + (last is null ? "" : $" (last: {last.Message})"));
            Thread.Sleep(100); // a probe's pace, not a stand-in for synchronization
        }
    }

    /// <summary>The text of the first element matching <paramref name="css"/>, or null if none is shown.</summary>
    public string? Text(string css) => Driver.FindElements(By.CssSelector(css)) is { Count: > 0 } found ? found[0].Text : null;

    /// <summary>Clicks the button with this text inside <paramref name="within"/>.</summary>
    public void Click(string buttonText, string within = "main") =>
        Driver.FindElement(By.CssSelector(within)).FindElements(By.TagName("button")).First(b => b.Text == buttonText).Click();

    /// <summary>Answers the confirmation dialog (after checking what it asks), with Confirm or Cancel.</summary>
    public void Confirm(string asks, bool yes = true)
    {
        Until(() => Driver.FindElement(By.Id("confirm")).GetAttribute("open") is not null, "the confirmation dialog opened");
        Assert.Contains(asks, Driver.FindElement(By.Id("confirm-text")).Text);
        Driver.FindElement(By.Id(yes ? "confirm-ok" : "confirm-cancel")).Click();
        Until(() => Driver.FindElement(By.Id("confirm")).GetAttribute("open") is null, "the confirmation dialog closed");
    }

    /// <summary>Waits for the page's answer to an action and returns it.</summary>
    public string Answer(string contains)
    {
        Until(() => Driver.FindElement(By.Id("flash")).Displayed && Driver.FindElement(By.Id("flash")).Text.Contains(contains),
            $"the page answered '{contains}'");
        return Driver.FindElement(By.Id("flash")).Text;
    }

    /// <summary>Reserves a job of <paramref name="queue"/> and buries it, holding the lease with an inbox that lives on.</summary>
    public async Task<string> BuryOneAsync(string queue, string reason)
    {
        var inbox = Inbox.Create(System);
        var proxy = Linda.Queue(queue);
        inbox.Send(proxy, new Reserve(TimeSpan.FromSeconds(10)));
        var reserved = Assert.IsType<Reserved>(await inbox.ReceiveAsync(TimeSpan.FromSeconds(30)));
        inbox.Send(proxy, new Bury(reserved.Job.Id, reserved.Token, reason));
        Assert.IsType<Buried>(await inbox.ReceiveAsync(TimeSpan.FromSeconds(30)));
        return reserved.Job.Id;
    }
}
