using System.Reflection;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;

namespace Linda.Dashboard;

/// <summary>
/// The pages: one HTML shell and its script and style sheet, embedded in this assembly (no build step,
/// nothing fetched from elsewhere). The script draws each page from the JSON API and routes by the
/// URL's fragment: <c>#/</c> the overview, <c>#/queues/{q}</c> a queue, <c>#/jobs/{q}/{id}</c> a job,
/// <c>#/cluster</c> the cluster.
/// </summary>
internal static class DashboardPages
{
    private static readonly Assembly Assembly = typeof(DashboardPages).Assembly;

    // Only what the shell loads from its own origin; no inline script, no framing (actions are clicks).
    private const string ContentSecurityPolicy =
        "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; base-uri 'self'; form-action 'none'; frame-ancestors 'none'";

    private static readonly Dictionary<string, (string ContentType, byte[] Bytes)> Assets = new(StringComparer.Ordinal)
    {
        ["dashboard.js"] = ("text/javascript; charset=utf-8", Read("dashboard.js")),
        ["dashboard.css"] = ("text/css; charset=utf-8", Read("dashboard.css")),
    };

    private static readonly string Shell = System.Text.Encoding.UTF8.GetString(Read("index.html"));

    // Assets change only with the assembly: its version tags them.
    private static readonly string Tag = Assembly.ManifestModule.ModuleVersionId.ToString("N")[..12];

    public static void Map(RouteGroupBuilder group, string prefix, LindaDashboardOptions options)
    {
        var basePath = prefix.TrimEnd('/') + "/";
        group.MapGet("", (HttpContext http) =>
        {
            // The shell's links are relative to the prefix with its slash.
            if (!http.Request.Path.Value!.EndsWith('/'))
                return Results.Redirect(http.Request.PathBase + http.Request.Path + "/" + http.Request.QueryString);
            Secure(http);
            var html = Shell.Replace("{{base}}", System.Net.WebUtility.HtmlEncode(http.Request.PathBase + basePath))
                .Replace("{{tag}}", Tag)
                .Replace("{{readonly}}", options.ReadOnly ? "true" : "false");
            return Results.Content(html, "text/html; charset=utf-8");
        });
        group.MapGet("/assets/{name}", (string name, HttpContext http) =>
        {
            if (!Assets.TryGetValue(name, out var asset))
                return Results.NotFound();
            Secure(http);
            http.Response.Headers.CacheControl = "public, max-age=31536000, immutable";
            return Results.Bytes(asset.Bytes, asset.ContentType);
        });
    }

    private static void Secure(HttpContext http)
    {
        http.Response.Headers.ContentSecurityPolicy = ContentSecurityPolicy;
        http.Response.Headers.XContentTypeOptions = "nosniff";
        http.Response.Headers.XFrameOptions = "DENY";
        http.Response.Headers["Referrer-Policy"] = "no-referrer";
    }

    private static byte[] Read(string name)
    {
        using var stream = Assembly.GetManifestResourceStream("Linda.Dashboard.Assets." + name)
            ?? throw new InvalidOperationException($"the dashboard's {name} is not embedded in {Assembly.GetName().Name}");
        using var bytes = new MemoryStream();
        stream.CopyTo(bytes);
        return bytes.ToArray();
    }
}
