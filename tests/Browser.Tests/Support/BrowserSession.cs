using Glance.Api.Tests.Support;
using Microsoft.Playwright;

namespace Glance.Browser.Tests.Support;

/// <summary>
/// The real service on a free loopback port (the HTTP tests' <see cref="GlanceServer"/>) and a
/// headless Chromium page on it; script errors on the page fail the test.
/// </summary>
public sealed class BrowserSession : IAsyncDisposable
{
    private IPlaywright? _playwright;
    private IBrowser? _browser;
    private readonly List<string> _errors = [];

    private BrowserSession(GlanceServer server) => Server = server;

    public GlanceServer Server { get; }

    public IPage Page { get; private set; } = null!;

    /// <summary>The service's address, e.g. http://127.0.0.1:41234.</summary>
    public string BaseUrl => Server.Factory.BaseAddress.ToString().TrimEnd('/');

    /// <summary>Errors the page's scripts raised or logged.</summary>
    public IReadOnlyList<string> Errors => _errors;

    /// <summary>Starts the service (with <paramref name="settings"/> on top of the defaults) and the browser.</summary>
    public static async Task<BrowserSession> StartAsync(Dictionary<string, string?>? settings = null)
    {
        var session = new BrowserSession(new GlanceServer(settings is null ? null : _ => settings));
        try
        {
            (session._playwright, session._browser) = await Chromium.LaunchAsync();
            var context = await session._browser.NewContextAsync(new BrowserNewContextOptions
            {
                ViewportSize = new ViewportSize { Width = 1280, Height = 860 },
            });
            // A shared 2-core machine: the reference page's script alone takes seconds to start.
            context.SetDefaultTimeout(30_000);
            Assertions.SetDefaultExpectTimeout(30_000);
            session.Page = await context.NewPageAsync();
            session.Page.PageError += (_, error) => session._errors.Add(error);
            session.Page.Console += (_, message) =>
            {
                if (message.Type == "error")
                {
                    session._errors.Add($"{message.Text} ({message.Location})");
                }
            };
            return session;
        }
        catch
        {
            await session.DisposeAsync();
            throw;
        }
    }

    public async ValueTask DisposeAsync()
    {
        if (_browser is not null)
        {
            await _browser.DisposeAsync();
        }
        _playwright?.Dispose();
        await Server.DisposeAsync();
    }
}
