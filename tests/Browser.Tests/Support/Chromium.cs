using Microsoft.Playwright;

namespace Glance.Browser.Tests.Support;

/// <summary>
/// Debian's Chromium (<c>apt-get install chromium</c>, which test.sh does), driven by Playwright's
/// driver from its NuGet package: nothing is downloaded. <c>GLANCE_CHROMIUM</c> names another binary.
/// </summary>
public static class Chromium
{
    /// <summary>The browser binary.</summary>
    public static string ExecutablePath { get; } =
        Environment.GetEnvironmentVariable("GLANCE_CHROMIUM") is { Length: > 0 } path ? path : "/usr/bin/chromium";

    /// <summary>Whether the binary is there.</summary>
    public static bool Installed => File.Exists(ExecutablePath);

    /// <summary>Under CI a missing browser is a failure, not a skip.</summary>
    public static bool Required => string.Equals(Environment.GetEnvironmentVariable("CI"), "true", StringComparison.OrdinalIgnoreCase);

    /// <summary>Starts headless Chromium.</summary>
    public static async Task<(IPlaywright Playwright, IBrowser Browser)> LaunchAsync()
    {
        if (!Installed)
        {
            throw new InvalidOperationException($"{ExecutablePath} is missing: apt-get install -y --no-install-recommends chromium (test.sh does).");
        }
        var playwright = await Playwright.CreateAsync();
        var browser = await playwright.Chromium.LaunchAsync(new BrowserTypeLaunchOptions
        {
            ExecutablePath = ExecutablePath,
            Headless = true,
            // As root (CI, containers) Chromium's sandbox cannot start; /dev/shm may be small in containers.
            Args = ["--no-sandbox", "--disable-dev-shm-usage"],
        });
        return (playwright, browser);
    }
}

/// <summary>A test that needs Chromium: skipped without it on a developer machine, failed without it under CI.</summary>
public sealed class BrowserFactAttribute : FactAttribute
{
    public BrowserFactAttribute()
    {
        if (!Chromium.Installed && !Chromium.Required)
        {
            Skip = $"{Chromium.ExecutablePath} is not installed (apt-get install chromium); under CI=true this fails instead.";
        }
    }
}

/// <summary>
/// Where the run's screenshots go: <c>TestResults/screenshots</c> in the repository (test.sh's
/// results folder). With <c>GLANCE_UPDATE_SCREENSHOTS=1</c> they are also copied to
/// <c>docs/screenshots</c>, which the README shows.
/// </summary>
public static class Screenshots
{
    private static readonly string Root = RepositoryRoot();

    /// <summary>Writes a screenshot named <paramref name="name"/>.png (the whole page, or the window); returns its path.</summary>
    public static async Task<string> TakeAsync(IPage page, string name, bool fullPage = true)
    {
        var directory = Path.Combine(Root, "TestResults", "screenshots");
        Directory.CreateDirectory(directory);
        var path = Path.Combine(directory, name + ".png");
        await page.ScreenshotAsync(new PageScreenshotOptions { Path = path, FullPage = fullPage });
        Assert.True(new FileInfo(path).Length > 10_000, $"{path} is suspiciously small");
        if (Environment.GetEnvironmentVariable("GLANCE_UPDATE_SCREENSHOTS") == "1")
        {
            var docs = Path.Combine(Root, "docs", "screenshots");
            Directory.CreateDirectory(docs);
            File.Copy(path, Path.Combine(docs, name + ".png"), overwrite: true);
        }
        return path;
    }

    private static string RepositoryRoot()
    {
        for (var directory = new DirectoryInfo(AppContext.BaseDirectory); directory is not null; directory = directory.Parent)
        {
            if (File.Exists(Path.Combine(directory.FullName, "Glance.Orleans.sln")))
            {
                return directory.FullName;
            }
        }
        return AppContext.BaseDirectory;
    }
}
