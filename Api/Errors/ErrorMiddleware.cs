using Glance.Grains.Telemetry;

namespace Glance.Api.Errors;

/// <summary>
/// Turns every failure into a JSON error: a rule a grain enforced (<see cref="GlanceException"/>),
/// a malformed request Kestrel rejected, and a bare status from routing (404, 405).
/// Anything else is a server fault: logged, and answered 500 without internals.
/// </summary>
public sealed class ErrorMiddleware(RequestDelegate next, ILogger<ErrorMiddleware> logger)
{
    public async Task InvokeAsync(HttpContext context)
    {
        try
        {
            await RunAsync(context);
            if (context.Response.StatusCode >= 400 && !context.Response.HasStarted && (context.Response.ContentLength ?? 0) == 0)
            {
                await AnswerAsync(context, context.Response.StatusCode, ErrorResponses.DefaultMessage(context.Response.StatusCode));
            }
        }
        catch (GlanceException e) when (!context.Response.HasStarted)
        {
            await AnswerAsync(context, (int)e.Kind, e.Message);
        }
        catch (BadHttpRequestException e) when (!context.Response.HasStarted)
        {
            await AnswerAsync(context, e.StatusCode, e.Message);
        }
        catch (OperationCanceledException) when (context.RequestAborted.IsCancellationRequested)
        {
            // The client went away; nothing to answer.
        }
        catch (Exception e) when (!context.Response.HasStarted && ServiceUnavailable.Is(e))
        {
            logger.LogWarning("{Method} {Path} answered 503: {Error}", context.Request.Method, context.Request.Path, e.Message);
            context.Response.Headers.RetryAfter = ServiceUnavailable.RetryAfterSeconds.ToString(System.Globalization.CultureInfo.InvariantCulture);
            await ErrorResponses.WriteAsync(context, StatusCodes.Status503ServiceUnavailable, ServiceUnavailable.Message);
        }
        catch (Exception e) when (!context.Response.HasStarted)
        {
            logger.LogError(e, "Unhandled error for {Method} {Path}", context.Request.Method, context.Request.Path);
            await ErrorResponses.WriteAsync(context, StatusCodes.Status500InternalServerError, "The server has either erred or is incapable of performing the requested operation.");
        }
        finally
        {
            GlanceMetrics.Answered(context.Response.StatusCode);
        }
    }

    // A safe request that met a silo being declared dead is tried once more: the retry usually
    // reaches the grain's new activation. Writes are not retried (the first may have happened),
    // nor reads the storage client already tried three times.
    private async Task RunAsync(HttpContext context)
    {
        if (!HttpMethods.IsGet(context.Request.Method) && !HttpMethods.IsHead(context.Request.Method))
        {
            await next(context);
            return;
        }
        try
        {
            await next(context);
        }
        catch (Exception e) when (!context.Response.HasStarted && ServiceUnavailable.IsWorthRetrying(e) && !context.RequestAborted.IsCancellationRequested)
        {
            logger.LogWarning("{Method} {Path} failed, tried once more: {Error}", context.Request.Method, context.Request.Path, e.Message);
            await Task.Delay(TimeSpan.FromSeconds(1), context.RequestAborted);
            context.Response.Clear();
            await next(context);
        }
    }

    /// <summary>Answers a refused request, with the one log line a failed request gets (successes get none).</summary>
    private Task AnswerAsync(HttpContext context, int status, string message)
    {
        logger.LogInformation("{Method} {Path} answered {Status}: {Message}", context.Request.Method, context.Request.Path, status, message);
        return ErrorResponses.WriteAsync(context, status, message);
    }
}
