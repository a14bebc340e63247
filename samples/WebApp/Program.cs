// Linda in an ASP.NET Core app: a one-node cluster, queue 'web' on an SQLite file, typed handlers from DI
// (Jobs.cs), endpoints that push jobs through ILindaClient, and Linda's dashboard at /linda. Runs until Ctrl+C.
//   POST /signup {"email": "ada@example.com"}   pushes sendWelcome; 202 {"id": ...}, or 400 and why
//   POST /jobs/{class} ["args", ...]             pushes resize ["cat.png"], flaky [2] (fails twice) or sendWelcome
// usage: dotnet run --project samples/WebApp [-- --urls http://127.0.0.1:5080] [--data DIR (default: a folder under the temp folder)]
using System.Net.Mail;
using System.Text.Json;
using Akka.Cluster;
using Akka.Cluster.Hosting;
using Akka.Configuration;
using Akka.Hosting;
using Akka.Remote.Hosting;
using Linda;
using Linda.Dashboard;
using Linda.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Http.Features;
using static Linda.JobQueue;

const string DefaultUrl = "http://127.0.0.1:5080";
const string DashboardPrefix = "/linda";

var builder = WebApplication.CreateBuilder(args);
if (builder.Configuration["urls"] is null) // neither --urls nor ASPNETCORE_URLS
    builder.WebHost.UseUrls(DefaultUrl);
var dataDir = builder.Configuration["data"] ?? Path.Combine(Path.GetTempPath(), "linda-webapp"); // --data DIR
Directory.CreateDirectory(dataDir);
var dbPath = Path.Combine(dataDir, "webapp.db"); // kept between runs: the jobs are durable

builder.Logging.AddSimpleConsole(o => o.SingleLine = true).AddFilter("Microsoft.AspNetCore", LogLevel.Warning);
builder.Services.Configure<RouteHandlerOptions>(o => o.ThrowOnBadRequest = true); // a body that can't be read: see app.Use below
builder.Services.AddLindaClient().AddLindaDashboard();
builder.Services.AddAkka("webapp", (akka, _) => akka
    .AddHocon(ConfigurationFactory.ParseString("akka.loglevel = WARNING"), HoconAddMode.Prepend)
    .WithRemoting("127.0.0.1", 0)
    .WithClustering(new ClusterOptions())
    .AddStartup((system, _) => Cluster.Get(system).Join(Cluster.Get(system).SelfAddress)) // a cluster of one
    .WithLinda(new LindaOptions
    {
        Queues = [Jobs.Queue],
        SqlitePath = dbPath,
        WorkerNum = 4,
        DefaultMaxRetries = 3, // flaky [4] and more end up buried
    }, Jobs.Register));

var app = builder.Build();

// A body that isn't the JSON an endpoint reads: 400 (or 415) saying what was wrong, not an empty answer.
app.Use(async (http, next) =>
{
    try
    {
        await next(http);
    }
    catch (BadHttpRequestException e) when (!http.Response.HasStarted)
    {
        http.Response.StatusCode = e.StatusCode;
        await http.Response.WriteAsJsonAsync(new Error("bad-request", e.Message));
    }
});

app.MapPost("/signup", async (Signup signup, ILindaClient linda, CancellationToken ct) =>
{
    if (string.IsNullOrWhiteSpace(signup.Email))
        return Results.BadRequest(new Error("bad-signup", "a signup needs an email: {\"email\": \"ada@example.com\"}"));
    if (!MailAddress.TryCreate(signup.Email.Trim(), out var email))
        return Results.BadRequest(new Error("bad-signup", $"'{signup.Email}' is not an email address"));
    return Accepted(await linda.PushAsync(Jobs.Queue, JobPayload.Create(Jobs.SendWelcome, email.Address), cancellationToken: ct));
});

app.MapPost("/jobs/{class}", async (string @class, JsonElement? args, ILindaClient linda, CancellationToken ct) =>
{
    if (!Jobs.Classes.Contains(@class))
        return Results.BadRequest(new Error("unknown-class", $"no handler for '{@class}' here; the classes are {string.Join(", ", Jobs.Classes)}"));
    var body = args ?? default; // no body: Undefined, no args
    if (body.ValueKind is not (JsonValueKind.Array or JsonValueKind.Undefined))
        return Results.BadRequest(new Error("bad-args", "the body is the job's args: a JSON array, or nothing"));
    var payload = JobPayload.FromJson(@class, body.ValueKind == JsonValueKind.Array ? body.GetRawText() : "[]");
    return Accepted(await linda.PushAsync(Jobs.Queue, payload, cancellationToken: ct));
});

app.MapLindaDashboard(DashboardPrefix);

// Once Kestrel listens: its real addresses (a port 0 in --urls becomes the port it got).
app.Lifetime.ApplicationStarted.Register(() =>
{
    var addresses = app.Services.GetRequiredService<IServer>().Features.GetRequiredFeature<IServerAddressesFeature>().Addresses;
    Console.WriteLine($"WebApp: {string.Join(", ", addresses)} (dashboard: {DashboardPrefix})");
});
Console.WriteLine($"WebApp: queue '{Jobs.Queue}' on {dbPath} (SQLite)");
await app.RunAsync();

// The queue's answer to a push as HTTP: 202 with the job's id and where the dashboard shows it, or the refusal.
static IResult Accepted(IReply reply) => reply switch
{
    Pushed p => Results.Accepted($"{DashboardPrefix}/api/jobs/{Jobs.Queue}/{p.JobId}", new { id = p.JobId }),
    Rejected r => Results.BadRequest(new Error("rejected", r.Message)),
    Unavailable or WriteFailed => Results.Json(new Error("unavailable", ((IFailure)reply).Message), statusCode: StatusCodes.Status503ServiceUnavailable),
    IFailure f => Results.Json(new Error("refused", f.Message), statusCode: StatusCodes.Status409Conflict),
    _ => throw new InvalidOperationException($"unexpected reply to a push: {reply}"),
};

/// <summary>The body of <c>POST /signup</c>.</summary>
internal sealed record Signup(string? Email);

/// <summary>A refusal: a short code and what was wrong.</summary>
internal sealed record Error(string Code, string Message);
