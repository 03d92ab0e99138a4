using Glance.Browser.Tests.Support;
using Microsoft.Playwright;

namespace Glance.Browser.Tests;

/// <summary>The API reference page (<c>/docs</c>, Scalar) loads in a real browser, offline, and shows the API's operations.</summary>
public sealed class ReferencePageTests
{
    [BrowserFact]
    public async Task The_reference_page_shows_the_operations()
    {
        await using var session = await BrowserSession.StartAsync();
        var page = session.Page;
        var outside = new List<string>();
        // Everything the page loads comes from the service itself.
        page.Request += (_, request) =>
        {
            if (!request.Url.StartsWith(session.BaseUrl, StringComparison.Ordinal) && !request.Url.StartsWith("data:", StringComparison.Ordinal))
            {
                outside.Add(request.Url);
            }
        };
        await page.GotoAsync(session.BaseUrl + "/docs");
        await Assertions.Expect(page.GetByText("Glance.Orleans Images API").First).ToBeVisibleAsync();
        await Assertions.Expect(page.GetByText("OpenAPI 3.1").First).ToBeVisibleAsync();
        foreach (var tag in new[] { "Images", "Members", "Image data", "Tasks", "Image properties" })
        {
            await Assertions.Expect(page.GetByText(tag, new() { Exact = true }).First).ToBeVisibleAsync();
        }
        // Open the Images tag: its operations by their summaries.
        await page.GetByText("Images", new() { Exact = true }).First.ClickAsync();
        await Assertions.Expect(page.GetByText("Create an image (201 + Location)").First).ToBeVisibleAsync();
        await Assertions.Expect(page.GetByText("Update an image with a JSON patch").First).ToBeVisibleAsync();
        // The window, not the whole page: every operation one under another is 20,000 pixels tall.
        await Screenshots.TakeAsync(page, "docs", fullPage: false);
        Assert.Empty(outside);
    }
}
