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
            await next(context);
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
        catch (Exception e) when (!context.Response.HasStarted)
        {
            logger.LogError(e, "Unhandled error for {Method} {Path}", context.Request.Method, context.Request.Path);
            await ErrorResponses.WriteAsync(context, StatusCodes.Status500InternalServerError, "The server has either erred or is incapable of performing the requested operation.");
        }
    }

    /// <summary>Answers a refused request, with the one log line a failed request gets (successes get none).</summary>
    private Task AnswerAsync(HttpContext context, int status, string message)
    {
        logger.LogInformation("{Method} {Path} answered {Status}: {Message}", context.Request.Method, context.Request.Path, status, message);
        return ErrorResponses.WriteAsync(context, status, message);
    }
}
